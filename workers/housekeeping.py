from __future__ import annotations

from typing import Any

from engage.platform.stores import purge_expired


async def purge_expired_store_keys(ctx: dict[str, Any]) -> None:
    """Embedded stores live in memory and forget expired keys only when asked."""
    await purge_expired(ctx["runtime"].stores)
