"""lti views."""
