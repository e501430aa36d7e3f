"""Work that runs outside a web request (background threads, the worker, the CLI): each task is a
transaction boundary of its own, like a view."""
