"""Auth: every route handler of the area, for the app factory."""

from typing import Any

from engage.auth.http import (
    AuthController,
    PrivacyAdminController,
    PrivacyController,
    SecurityController,
    StaffController,
    TwoFactorController,
)
from engage.auth.pages import auth_pages

ROUTES: list[Any] = [
    AuthController,
    StaffController,
    SecurityController,
    TwoFactorController,
    PrivacyController,
    PrivacyAdminController,
    *auth_pages,
]
