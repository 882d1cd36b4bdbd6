"""The audit trail of what staff do (docs/auth.md): an append-only table, written by the audit middleware
for every change a member of staff makes through the API and by the sign-in door for staff sign-ins and
their failures; admins search and export it.

For other areas: `record_sign_in(session, actor=..., address=..., succeeded=...)`.
"""

from engage.audit.service import record_sign_in

__all__ = ["record_sign_in"]
