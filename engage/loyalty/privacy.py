"""A shopper's points, store credit and referrals in a privacy request: exported; on erasure the ledger
stays (it is the shop's accounts, and names nobody once the account is erased), the referral code and the
devices seen at referral go, and a referral's email of the erased person is blanked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth import PersonalData
from engage.loyalty.models import LedgerEntry, Referral, ReferralCode, ReferralDevice


async def _export(session: AsyncSession, user_id: int) -> dict[str, Any]:
    entries = await session.scalars(
        select(LedgerEntry).where(LedgerEntry.user_id == user_id).order_by(LedgerEntry.id)
    )
    code = await session.get(ReferralCode, user_id)
    return {
        "ledger": [
            {
                "at": e.created_at.isoformat(),
                "unit": e.unit,
                "kind": e.kind,
                "amount": e.amount,
                "source": e.source,
                "note": e.note,
            }
            for e in entries
        ],
        "referral_code": code.code if code else None,
    }


async def _erase(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(ReferralDevice).where(ReferralDevice.user_id == user_id))
    await session.execute(delete(ReferralCode).where(ReferralCode.user_id == user_id))
    await session.execute(update(Referral).where(Referral.referee_id == user_id).values(referee_email=""))


personal_data = PersonalData("loyalty", _export, _erase)
