"""A signed-in shopper's address book: each order's address is remembered; the shopper names, edits,
removes and picks a default in the account, and checkout offers them.

The same address (its fields normalised) is kept once per shopper, so an order, a re-sent form or two tabs
saving at once never make a copy. The default is the one checkout fills in first.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import msgspec
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.checkout.checkouts import Address
from commerce.checkout.models import SavedAddress
from engage.platform.clock import utcnow
from engage.platform.errors import Conflict, NotFound

MAX_ADDRESSES = 20

Label = Annotated[str, msgspec.Meta(max_length=40, description='a name for it, e.g. "home"')]


class AddressEntry(msgspec.Struct):
    id: int
    address: Address
    label: str
    is_default: bool


class NewAddress(msgspec.Struct, forbid_unknown_fields=True):
    address: Address
    label: Label = ""
    is_default: bool = False


class AddressChanges(msgspec.Struct, forbid_unknown_fields=True):
    address: Address | None = None
    label: Label | None = None
    is_default: bool | None = None


def normalised(address: Address) -> Address:
    fields = {name: " ".join(str(value).split()) for name, value in msgspec.structs.asdict(address).items()}
    fields["country"], fields["region"] = fields["country"].upper(), fields["region"].upper()
    return Address(**fields)


def _fingerprint(address: Address) -> str:
    canonical = msgspec.json.encode(
        {k: str(v).casefold() for k, v in msgspec.structs.asdict(address).items()}
    )
    return hashlib.sha256(canonical).hexdigest()


def _entry(row: SavedAddress) -> AddressEntry:
    return AddressEntry(
        id=row.id, address=msgspec.convert(row.address, Address), label=row.label, is_default=row.is_default
    )


async def entries(session: AsyncSession, user_id: int) -> list[AddressEntry]:
    """The default first, then the most recently used."""
    rows = await session.scalars(
        select(SavedAddress)
        .where(SavedAddress.user_id == user_id)
        .order_by(SavedAddress.is_default.desc(), SavedAddress.last_used_at.desc(), SavedAddress.id.desc())
    )
    return [_entry(row) for row in rows]


async def _own(session: AsyncSession, user_id: int, address_id: int) -> SavedAddress:
    await _lock_book(session, user_id)
    row = await session.get(SavedAddress, address_id, populate_existing=True)
    if row is None or row.user_id != user_id:
        raise NotFound("no such address in your address book", code="address_not_found")
    return row


async def _make_default(session: AsyncSession, user_id: int, row: SavedAddress) -> None:
    """With the book locked (see _lock_book)."""
    await session.execute(
        update(SavedAddress)
        .where(SavedAddress.user_id == user_id, SavedAddress.id != row.id, SavedAddress.is_default)
        .values(is_default=False)
    )
    row.is_default = True


async def _find(session: AsyncSession, user_id: int, fingerprint: str) -> SavedAddress | None:
    return await session.scalar(
        select(SavedAddress).where(SavedAddress.user_id == user_id, SavedAddress.fingerprint == fingerprint)
    )


async def _lock_book(session: AsyncSession, user_id: int) -> int:
    """Lock the shopper's saved rows (always in id order): their changes then queue up. Returns how many.
    Taken last: an order's address is remembered under the order's locks (commerce.locks)."""
    ids = await session.scalars(
        select(SavedAddress.id)
        .where(SavedAddress.user_id == user_id)
        .order_by(SavedAddress.id)
        .with_for_update()
    )
    return len(ids.all())


async def _insert(session: AsyncSession, user_id: int, address: Address, label: str) -> SavedAddress | None:
    """The new row, or None when a concurrent save of the same address won (then it is found instead)."""
    count = await _lock_book(session, user_id)
    if count >= MAX_ADDRESSES:
        raise Conflict(
            f"an address book keeps {MAX_ADDRESSES} addresses: remove one first", code="address_book_full"
        )
    fingerprint = _fingerprint(address)
    # the first address is the default; when two first ones race, the one-default index picks one
    for is_default in (True, False) if count == 0 else (False,):
        row = SavedAddress(
            user_id=user_id,
            fingerprint=fingerprint,
            address=msgspec.to_builtins(address),
            label=label.strip(),
            is_default=is_default,
        )
        try:
            async with session.begin_nested():
                session.add(row)
            return row
        except IntegrityError:
            if await _find(session, user_id, fingerprint) is not None:
                return None
    return None


async def add(session: AsyncSession, user_id: int, new: NewAddress) -> tuple[AddressEntry, bool]:
    """Save an address (the same one again gives the saved one back, renamed if a label is given);
    True when it was new. Commits."""
    address = normalised(new.address)
    fingerprint = _fingerprint(address)
    row = await _find(session, user_id, fingerprint)
    created = False
    if row is None:
        row = await _insert(session, user_id, address, new.label)
        created = row is not None
        row = row or await _find(session, user_id, fingerprint)
        assert row is not None
    elif new.label.strip():
        row.label = new.label.strip()
    if new.is_default and not row.is_default:
        await _lock_book(session, user_id)
        await _make_default(session, user_id, row)
    await session.commit()
    return _entry(row), created


async def change(
    session: AsyncSession, user_id: int, address_id: int, changes: AddressChanges
) -> AddressEntry:
    """Edit, rename or make default; an edit into an address already in the book is a 409. Commits."""
    row = await _own(session, user_id, address_id)
    if changes.address is not None:
        address = normalised(changes.address)
        fingerprint = _fingerprint(address)
        other = await _find(session, user_id, fingerprint)
        if other is not None and other.id != row.id:
            raise Conflict("that address is already in your address book", code="address_exists")
        row.address, row.fingerprint = msgspec.to_builtins(address), fingerprint
    if changes.label is not None:
        row.label = changes.label.strip()
    if changes.is_default:
        await _make_default(session, user_id, row)
    elif changes.is_default is False:
        row.is_default = False
    await session.commit()
    return _entry(row)


async def remove(session: AsyncSession, user_id: int, address_id: int) -> None:
    """Remove one; when it was the default, the most recently used one left becomes the default. Commits."""
    row = await _own(session, user_id, address_id)
    was_default = row.is_default
    await session.delete(row)
    await session.flush()
    if was_default:
        successor = await session.scalar(
            select(SavedAddress)
            .where(SavedAddress.user_id == user_id)
            .order_by(SavedAddress.last_used_at.desc(), SavedAddress.id.desc())
            .limit(1)
        )
        if successor is not None:
            successor.is_default = True
    await session.commit()


async def remember(session: AsyncSession, user_id: int, address: dict[str, Any]) -> None:
    """Keep an order's address in its shopper's book (marked as just used); a full book is left as it is.
    Part of the caller's transaction."""
    try:
        checked = normalised(msgspec.convert(address, Address))
    except msgspec.ValidationError:
        return  # an order placed without a complete address: nothing to remember
    row = await _find(session, user_id, _fingerprint(checked))
    if row is None:
        try:
            row = await _insert(session, user_id, checked, "")
        except Conflict:
            return
    if row is not None:
        row.last_used_at = utcnow()


async def export(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(entry) for entry in await entries(session, user_id)]


async def erase(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(SavedAddress).where(SavedAddress.user_id == user_id))
