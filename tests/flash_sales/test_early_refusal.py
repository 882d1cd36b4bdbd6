"""A claim for a sold-out item is refused before the rest of the request is looked at, exactly as the claim
route itself would refuse it; everything it cannot be sure of still goes the whole way."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from commerce import inventory
from engage.flash_sales.models import FlashClaim
from engage.platform.runtime import Runtime
from tests.flash_sales.conftest import make_sale, sale_product

SOLD_OUT = {
    "status": 409,
    "type": "urn:engage:problem:sold_out",
    "title": "sold out",
    "detail": "sold out",
    "code": "sold_out",
}
COUNTED = "ratelimit-remaining"  # the rate limit's header: on every answer that went through it


async def _one_unit_sale(runtime: Runtime, make_account: Any) -> tuple[str, dict[str, int], Any, Any]:
    """A sale of one unit: its claims' path and body, and two shoppers."""
    product = await sale_product(runtime, stock=5)
    variant = product.variants[0].id
    sale_id = await make_sale(runtime, [variant], units=1)
    return (
        f"/api/flash-sales/{sale_id}/claims",
        {"variant_id": variant},
        await make_account(),
        await make_account(),
    )


async def test_a_sold_out_claim_is_refused_early_and_a_unit_given_back_is_claimable_at_once(
    client, make_account, runtime: Runtime
) -> None:
    path, body, first, second = await _one_unit_sale(runtime, make_account)

    won = await client.post(path, json=body, headers=first.headers)
    assert won.status_code == 201, won.text
    assert COUNTED in won.headers  # a claim that went the whole way

    refused = await client.post(path, json=body, headers=second.headers)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json() == SOLD_OUT
    assert COUNTED not in refused.headers  # answered before the rate limit: the same answer, for less
    assert "x-request-id" in refused.headers and "content-security-policy" in refused.headers

    async with runtime.sessionmaker() as session:  # the winner's checkout fails: the unit goes back
        hold = await session.scalar(
            select(FlashClaim.reservation_id).where(FlashClaim.id == won.json()["claim_id"])
        )
        assert hold is not None
        await inventory.release(session, hold, reason="payment_failed")
        await session.commit()
    await runtime.publisher.drain()

    again = await client.post(path, json=body, headers=second.headers)  # the gate is asked, not remembered
    assert again.status_code == 201, again.text
    assert (await client.post(path, json=body, headers=first.headers)).json() == SOLD_OUT


async def test_who_is_asking_and_what_they_sent_are_still_checked_first(
    client, make_account, runtime: Runtime
) -> None:
    path, body, winner, other = await _one_unit_sale(runtime, make_account)
    key = {"Idempotency-Key": "early-refusal-claim-1"}
    won = await client.post(path, json=body, headers={**winner.headers, **key})
    assert won.status_code == 201, won.text
    assert (await client.post(path, json=body, headers=other.headers)).json() == SOLD_OUT

    # nobody signed in: told to sign in, not that it is sold out
    anonymous = await client.post(path, json=body)
    assert anonymous.status_code == 401, anonymous.text
    # a resend of the winning claim with its key gets its first answer again, sold out or not
    replayed = await client.post(path, json=body, headers={**winner.headers, **key})
    assert (replayed.status_code, replayed.json()) == (201, won.json())
    # a body the claim route cannot read is its to refuse, with its own answer
    wrong = await client.post(path, json={"variant_id": "one"}, headers=other.headers)
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_request", wrong.text
    # another item (not in this sale) is not this item: the route says so
    missing = await client.post(
        path, json={"variant_id": body["variant_id"] + 10_000_000}, headers=other.headers
    )
    assert missing.status_code == 404, missing.text
