from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.db import Base, BigId, IdMixin, TimestampMixin
from engage.platform.identity import Role


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.customer.value)
    name: Mapped[str] = mapped_column(String(120), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when the password changes: browser sessions signed in before it end.
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)
    # an agent's refund permission, granted by an admin; the limit is per refund, in minor units (None: none)
    can_refund: Mapped[bool] = mapped_column(default=False)
    refund_limit_cents: Mapped[int | None] = mapped_column(BigInteger, default=None)


class ApiToken(IdMixin, Base):
    """A bearer token of an API client, named by its owner, listed and revoked by them. Only its SHA-256
    is kept: the token itself is shown once, when it is made."""

    __tablename__ = "api_tokens"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class TwoFactor(Base):
    """A user's TOTP secret (RFC 6238). Unconfirmed until the first code from the app is entered."""

    __tablename__ = "two_factor"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    # the last 30-second step a code was accepted for: a code is good once
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]


class RecoveryCode(IdMixin, Base):
    """One-time codes for when the authenticator is lost; only their SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class PrivacyRequest(IdMixin, Base):
    """A shopper's request for their data (done at once) or for erasure (done by the erasure job, or by an
    admin, soon after)."""

    __tablename__ = "privacy_requests"

    # kept after erasure (the user row stays, anonymised): who asked is what the log is for
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "export" or "erasure"
    status: Mapped[str] = mapped_column(String(16))  # "pending" or "done"
    requested_at: Mapped[datetime]
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    done_by: Mapped[str] = mapped_column(String(40), default="")  # "user:{id}" of an admin, or "job"


class SecuritySettings(Base):
    """The admin's choices for the shop's security (one row): which staff roles need two-factor sign-in
    (none chosen yet: ENGAGE_TWO_FACTOR_ROLES)."""

    __tablename__ = "security_settings"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    two_factor_roles: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    updated_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime]
