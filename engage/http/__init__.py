"""Cross-cutting HTTP plumbing shared by every door: errors, security headers, request ids, CSRF."""
