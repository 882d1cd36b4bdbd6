"""Sales analytics for marketers and admins (docs/backoffice.md)."""
