"""What a client knows of who it is (`GET /api/auth/me`, and every page's header)."""

from __future__ import annotations

import msgspec

from engage.platform.identity import Identity


class Me(msgspec.Struct):
    authenticated: bool
    user_id: int | None
    role: str | None
    email: str | None
    name: str
    guest_id: str | None


def me_of(ident: Identity) -> Me:
    return Me(
        authenticated=ident.is_authenticated,
        user_id=ident.user_id,
        role=ident.role.value if ident.role else None,
        email=ident.email,
        name=ident.name,
        guest_id=ident.guest_id,
    )
