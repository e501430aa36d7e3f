"""HTTP plumbing shared by every blueprint: launch sessions, request ids, security headers, templates."""
