"""A sequenced backend's `positions` answers Positions (the fan-out reads `.epoch` and `.seq` off them)."""

from __future__ import annotations

from engage.platform.channels import MemorySequencedBackend, Position


async def test_the_default_positions_are_positions_not_bare_tuples() -> None:
    backend = MemorySequencedBackend(history=10, history_seconds=60)
    [position] = await backend.positions(["product:a"])
    assert isinstance(position, Position)
    assert position.seq == 0
    assert position.epoch == (await backend.history("product:a")).epoch
