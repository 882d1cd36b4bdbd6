"""Ephemeral signals that are never stored: who is typing. They go straight to the channel, no transaction."""

from __future__ import annotations

from engage.chat import events
from engage.chat.env import ChatEnv
from engage.chat.models import Author
from engage.platform.events import domain_event


async def typing(
    env: ChatEnv, conversation_id: int, author: Author, name: str, is_typing: bool, *, private: bool = False
) -> None:
    """Tell the other side someone is typing (`private`: an agent writing a note; only staff see that)."""
    targets: tuple[str, ...] = (events.staff_channel(conversation_id),)
    if not private:
        targets += (events.conversation_channel(conversation_id),)
    signal = events.Typing(
        conversation_id=conversation_id,
        author=author.value,
        name=name if author is not Author.shopper else "",
        typing=bool(is_typing),
    )
    await env.publisher.publish([domain_event(signal, targets)])
