"""Accounts, passwords, sign-in, tokens and sessions.

For other areas: the `User` table, `normalise_email`, `create_user`, and `GuestHandover` (what a guest's
resources do at sign-in: areas add theirs to `Services.guest_handovers`), and `SignUpHook` with
`NewAccount` (what areas do when a shopper signs up: `Services.signups`). Who is asking is the kernel's
`engage.platform.identity.Identity`; route guards are `engage.http.guards`. Permissions beyond the role:
`refund_allowance(session, identity)` (PermissionDenied, or the limit per refund). Privacy requests:
`PersonalData` (an area's part of a shopper's data: export, erase), `ERASED_TEXT`, and
`privacy_requests_of(session, user_id)` (the back office's customer page). `recently_confirmed`: the
route guard of sensitive staff actions (a browser session re-entered its password lately).
"""

from engage.auth.models import User
from engage.auth.permissions import RefundAllowance, refund_allowance, refund_limit
from engage.auth.privacy import ERASED_TEXT, PersonalData, RequestView
from engage.auth.privacy import mine as privacy_requests_of
from engage.auth.security import recently_confirmed
from engage.auth.service import GuestHandover, NewAccount, SignUpHook, create_user, normalise_email

__all__ = [
    "ERASED_TEXT",
    "GuestHandover",
    "NewAccount",
    "PersonalData",
    "RefundAllowance",
    "RequestView",
    "SignUpHook",
    "User",
    "create_user",
    "normalise_email",
    "privacy_requests_of",
    "recently_confirmed",
    "refund_allowance",
    "refund_limit",
]
