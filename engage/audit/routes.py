"""The audit trail: every route handler of the area, for the app factory."""

from typing import Any

from engage.audit.http import AuditController
from engage.audit.pages import audit_pages

ROUTES: list[Any] = [AuditController, *audit_pages]
