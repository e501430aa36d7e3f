"""Domain services: plain arguments in, domain objects out. They flush, never commit (the request or job
boundary commits once), and they check authorisation themselves."""
