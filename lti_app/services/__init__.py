"""Domain services: plain arguments in, domain objects out. They flush, never commit (the request or job
boundary commits once), and they check authorisation themselves."""

# Domain event subscribers, registered whenever any service is imported (app, worker, CLI, scripts).
from lti_app.services.completion import subscriber as _completion_subscriber  # noqa: F401
