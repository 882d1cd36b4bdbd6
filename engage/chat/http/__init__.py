"""Chat's HTTP doors: parse, authorise, call the chat domain, shape the answer (shoppers and participants:
`conversations`; the agent console: `console`; teams: `teams`)."""

from engage.chat.http.console import ConsoleController
from engage.chat.http.conversations import ConversationController
from engage.chat.http.teams import TeamController

chat_routes = [ConversationController, ConsoleController, TeamController]

__all__ = ["ConsoleController", "ConversationController", "TeamController", "chat_routes"]
