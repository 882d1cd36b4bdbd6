"""Site announcements: a marketer's notice on every open storefront tab, until it expires or is ended.

Public names for other areas: the limits a form shows (`MAX_CHARS`, `MAX_MINUTES`).
"""

from engage.announcements.service import MAX_CHARS, MAX_MINUTES

__all__ = ["MAX_CHARS", "MAX_MINUTES"]
