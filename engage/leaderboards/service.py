"""The process's leaderboards: keeps each active board's standings in the store in step with the database,
answers views (top N, a watcher's rank and neighbours), and publishes the top N on `leaderboard:{id}`.

Changes arrive as (metric, users) from the sink (`refresh`): each affected board recomputes those users'
values from the database (the same query a rebuild runs for everyone), puts them in the store, and
publishes its new top N: at once when nothing is being published for it, otherwise once the publication in
flight is out (the newest standings, never a queue of stale ones; the hub coalesces further).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engage.flash_sales.models import FlashSale
from engage.leaderboards import boards, standings
from engage.leaderboards.events import StandingsChanged, leaderboard_channel
from engage.leaderboards.models import Leaderboard, Metric, Profile
from engage.leaderboards.store import Standing, StandingsStore
from engage.platform.clock import epoch_ms, utcnow
from engage.platform.errors import InvalidInput
from engage.platform.events import EventPublisher, domain_event

log = logging.getLogger("engage.leaderboards")

NEIGHBOURS = 2  # a watcher sees this many above and below them
_BOARDS_TTL = 2.0  # seconds a process keeps the list of active boards (a marketer's change shows this fast)
_BUILT_TTL = 5.0  # seconds a board is taken as built without asking the store again
# A board's public part (top N, size) as last published serves new watchers this long: 10,000 sockets
# subscribing at once read it once, not once each.
_PUBLIC_TTL = 1.0
_NAMES_TTL = 10.0  # a new display name shows within this


def _builtins(view: BoardStandings) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(view)
    return data


class Entry(msgspec.Struct):
    rank: int
    name: str
    value: int
    token: str  # opaque per board and shopper: a page finds its own row without ids being public


class BoardStandings(msgspec.Struct):
    board: boards.BoardView
    period: str
    top: list[Entry]
    size: int
    me: Entry | None = None
    neighbours: list[Entry] = []
    my_token: str | None = None


@dataclass
class _Publishing:
    running: bool = False
    dirty: bool = False
    changed_at_ms: int = 0


class Leaderboards:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: StandingsStore,
        publisher: EventPublisher,
        *,
        secret: str,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.store = store
        self._publisher = publisher
        self._secret = secret.encode()
        self._boards: tuple[float, list[Leaderboard], dict[int, FlashSale]] | None = None
        self._built: dict[str, float] = {}
        self._publishing: dict[int, _Publishing] = {}
        self._public: dict[int, tuple[float, BoardStandings]] = {}
        self._names_seen: dict[int, tuple[float, str | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- names --------------------------------------------------------------------------------------------
    def token(self, board_id: int, user_id: int) -> str:
        return hmac.new(self._secret, f"{board_id}:{user_id}".encode(), hashlib.sha256).hexdigest()[:12]

    async def _names(
        self, session: AsyncSession, board: Leaderboard, users: Collection[int]
    ) -> dict[int, str]:
        """Display names of those who chose one; kept `_NAMES_TTL` per process, so publishing the top N
        under a stream of changes does not ask the database each time."""
        if not board.show_names or not users:
            return {}
        now = time.monotonic()
        missing = [u for u in users if now - self._names_seen.get(u, (-_NAMES_TTL, None))[0] >= _NAMES_TTL]
        if missing:
            rows = dict(
                (
                    await session.execute(
                        select(Profile.user_id, Profile.display_name).where(
                            Profile.user_id.in_(missing),
                            Profile.anonymous.is_(False),
                            Profile.display_name != "",
                        )
                    )
                ).all()
            )
            if len(self._names_seen) > 100_000:
                self._names_seen.clear()
            for user_id in missing:
                self._names_seen[user_id] = (now, rows.get(user_id))
        return {u: name for u in users if (name := self._names_seen[u][1]) is not None}

    async def _entries(self, session: AsyncSession, board: Leaderboard, rows: list[Standing]) -> list[Entry]:
        names = await self._names(session, board, [r.user_id for r in rows])
        return [
            Entry(
                rank=r.rank,
                name=names.get(r.user_id, "Anonymous"),
                value=r.value,
                token=self.token(board.id, r.user_id),
            )
            for r in rows
        ]

    # ---- boards -------------------------------------------------------------------------------------------
    async def _active(self, session: AsyncSession) -> tuple[list[Leaderboard], dict[int, FlashSale]]:
        now = time.monotonic()
        if self._boards is None or now - self._boards[0] > _BOARDS_TTL:
            active = await boards.listed(session)
            sale_ids = {b.flash_sale_id for b in active if b.flash_sale_id is not None}
            sales = (
                {s.id: s for s in await session.scalars(select(FlashSale).where(FlashSale.id.in_(sale_ids)))}
                if sale_ids
                else {}
            )
            self._boards = (now, active, sales)
        return self._boards[1], self._boards[2]

    def forget_name(self, user_id: int) -> None:
        """A shopper changed how they appear: this process shows it at once (others within `_NAMES_TTL`)."""
        self._names_seen.pop(user_id, None)
        self._public.clear()

    def forget_boards(self) -> None:
        """A definition changed: read them again on the next change."""
        self._boards = None
        self._public.clear()

    async def is_active(self, board_id: int) -> bool:
        """Whether a board may be watched (the list of active boards, kept `_BOARDS_TTL` per process)."""
        if self._boards is None or time.monotonic() - self._boards[0] > _BOARDS_TTL:
            async with self._sessionmaker() as session:
                await self._active(session)
                await session.commit()
        assert self._boards is not None
        return any(b.id == board_id for b in self._boards[1])

    async def _window(self, session: AsyncSession, board: Leaderboard) -> boards.Window:
        sale = await session.get(FlashSale, board.flash_sale_id) if board.flash_sale_id is not None else None
        return boards.window_of(board, sale)

    def store_key(self, board: Leaderboard, window: boards.Window) -> str:
        return f"{board.id}:{window.key}"

    # ---- keeping standings --------------------------------------------------------------------------------
    async def refresh(self, changes: dict[Metric, set[int]]) -> None:
        """Recompute these users on every active board of these metrics, and publish the boards that moved."""
        async with self._sessionmaker() as session:
            active, sales = await self._active(session)
            for board in active:
                users = changes.get(Metric(board.metric))
                if not users:
                    continue
                window = boards.window_of(board, sales.get(board.flash_sale_id or 0))
                key = self.store_key(board, window)
                if not await self._is_built(key):
                    await self._rebuild(session, board, window)
                else:
                    for user_id, value, reached in await standings.values(session, board, window, users):
                        await self.store.put(key, user_id, value, reached)
                await session.commit()
                self.publish_soon(board.id)

    async def _is_built(self, key: str) -> bool:
        seen = self._built.get(key)
        if seen is not None and time.monotonic() - seen < _BUILT_TTL:
            return True
        if await self.store.built(key):
            self._built[key] = time.monotonic()
            return True
        return False

    async def _rebuild(self, session: AsyncSession, board: Leaderboard, window: boards.Window) -> int:
        rows = await standings.values(session, board, window)
        await self.store.replace(self.store_key(board, window), rows, ttl=window.ttl_seconds(utcnow()))
        self._built[self.store_key(board, window)] = time.monotonic()
        return len([r for r in rows if r[1] > 0])

    async def rebuild(self, board_id: int) -> int:
        """The board's standings recomputed from the database, replacing the store's; how many are ranked."""
        async with self._sessionmaker() as session:
            board = await boards.get(session, board_id, active_only=False)
            count = await self._rebuild(session, board, await self._window(session, board))
            await session.commit()
        self.publish_soon(board_id)
        return count

    async def rebuild_missing(self) -> int:
        """Every active board whose standings the store lost (Redis wiped, embedded restart): rebuilt."""
        rebuilt = 0
        async with self._sessionmaker() as session:
            active, sales = await self._active(session)
            for board in active:
                window = boards.window_of(board, sales.get(board.flash_sale_id or 0))
                key = self.store_key(board, window)
                self._built.pop(key, None)
                if not await self.store.built(key):
                    await self._rebuild(session, board, window)
                    rebuilt += 1
            await session.commit()
        return rebuilt

    async def record(self, board_id: int, window_key: str, user_id: int, value: int, reached_ms: int) -> None:
        """Put one standing as computed elsewhere (the load test drives the store and hub through this)."""
        await self.store.put(f"{board_id}:{window_key}", user_id, value, reached_ms)
        self.publish_soon(board_id, changed_at_ms=reached_ms)

    # ---- publishing ---------------------------------------------------------------------------------------
    def publish_soon(self, board_id: int, *, changed_at_ms: int | None = None) -> None:
        state = self._publishing.setdefault(board_id, _Publishing())
        state.changed_at_ms = max(state.changed_at_ms, changed_at_ms or epoch_ms())
        if state.running:
            state.dirty = True
            return
        state.running = True
        task = asyncio.get_running_loop().create_task(self._publish_loop(board_id, state))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish_loop(self, board_id: int, state: _Publishing) -> None:
        try:
            while True:
                state.dirty = False
                changed_at = state.changed_at_ms
                try:
                    await self._publish(board_id, changed_at)
                except Exception:
                    log.exception("publishing leaderboard %s failed", board_id)
                if not state.dirty:
                    return
        finally:
            state.running = False

    async def _publish(self, board_id: int, changed_at_ms: int) -> None:
        async with self._sessionmaker() as session:
            active, sales = await self._active(session)
            board = next((b for b in active if b.id == board_id), None)
            if board is None:
                return
            window = boards.window_of(board, sales.get(board.flash_sale_id or 0))
            key = self.store_key(board, window)
            top = await self._entries(session, board, await self.store.top(key, board.size))
            size = await self.store.count(key)
            await session.commit()
        self._public[board_id] = (
            time.monotonic(),
            BoardStandings(board=boards.view_of(board), period=window.key, top=top, size=size),
        )
        event = StandingsChanged(
            board_id=board_id,
            period=window.key,
            top=[msgspec.to_builtins(e) for e in top],
            size=size,
            changed_at_ms=changed_at_ms,
        )
        await self._publisher.publish([domain_event(event, [leaderboard_channel(board_id)])])

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Shutdown: what is being published goes out first."""
        await self.drain()

    # ---- views --------------------------------------------------------------------------------------------
    async def standings_of(
        self, session: AsyncSession, board_id: int, user_id: int | None, *, staff: bool = False
    ) -> BoardStandings:
        board = await boards.get(session, board_id, active_only=not staff)
        window = await self._window(session, board)
        key = self.store_key(board, window)
        if not await self.store.built(key):  # asked each time: a read right after Redis was wiped rebuilds
            await self._rebuild(session, board, window)
        top = await self._entries(session, board, await self.store.top(key, board.size))
        me, near = None, []
        if user_id is not None:
            mine, around = await self.store.around(key, user_id, NEIGHBOURS)
            entries = await self._entries(session, board, around)
            me = next((e for e in entries if mine is not None and e.rank == mine.rank), None)
            near = entries
        return BoardStandings(
            board=boards.view_of(board),
            period=window.key,
            top=top,
            size=await self.store.count(key),
            me=me,
            neighbours=near,
            my_token=self.token(board.id, user_id) if user_id is not None else None,
        )

    async def snapshot(self, board_id: int, user_id: int | None) -> dict[str, Any]:
        cached = self._public.get(board_id)
        if user_id is None and cached is not None and time.monotonic() - cached[0] < _PUBLIC_TTL:
            return _builtins(cached[1])
        async with self._sessionmaker() as session:
            view = await self.standings_of(session, board_id, user_id)
            await session.commit()
        if user_id is None:
            self._public[board_id] = (time.monotonic(), view)
        return _builtins(view)


async def set_profile(session: AsyncSession, user_id: int, *, display_name: str, anonymous: bool) -> Profile:
    """How the shopper appears on leaderboards. Commits."""
    name = " ".join(display_name.split())
    if not anonymous and not 2 <= len(name) <= 40:
        raise InvalidInput("a display name is 2 to 40 characters", field="display_name")
    if not name.isprintable() or any(ch in name for ch in "<>\"'`\u202e\u202d"):
        raise InvalidInput("a display name has letters, digits and spaces", field="display_name")
    profile = await session.get(Profile, user_id, with_for_update=True)
    if profile is None:
        profile = Profile(user_id=user_id)
        session.add(profile)
    profile.display_name = name
    profile.anonymous = anonymous
    await session.commit()
    return profile
