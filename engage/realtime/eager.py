"""Eager sends: run an ASGI `send` now, in the caller, and only fall back to a task if it has to wait.

A server's `send` for a WebSocket frame frames the message and writes it to the transport; it waits only
when the peer does not keep up (transport paused). Fanning one event out to thousands of sockets through a
task per socket costs a task switch per frame; writing in the fan-out loop, as `websockets.broadcast()`
does, does not. (Python 3.12's eager task factory does this for whole tasks; we are on 3.11.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]


def send_eagerly(send: Send, message: dict[str, Any]) -> Coroutine[Any, Any, None] | None:
    """None when the message went out now; else a coroutine that finishes the send (await or schedule it).

    Exceptions of a send that fails at once propagate here.
    """
    coro = send(message)
    if not isinstance(coro, Coroutine):
        return _wait(coro)  # an awaitable that is not a coroutine: nothing to run eagerly
    try:
        waiting = coro.send(None)
    except StopIteration:
        return None
    return _finish(coro, waiting)


async def _wait(awaitable: Awaitable[None]) -> None:
    await awaitable


async def _finish(coro: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Drive `coro` on from where it first waited, as a task would."""
    try:
        while True:
            if waiting is None:  # a bare `yield` (asyncio.sleep(0))
                await asyncio.sleep(0)
            else:
                waiting._asyncio_future_blocking = False  # what Task.__step does before waiting on it
                try:
                    await asyncio.shield(waiting)
                except asyncio.CancelledError:
                    if waiting.cancelled():
                        pass  # the inner coroutine sees it when resumed
                    else:
                        raise  # we are being cancelled
                except Exception:
                    pass  # the inner coroutine sees the failure when resumed
            waiting = coro.send(None)
    except StopIteration:
        return
    finally:
        coro.close()
