"""CLI command groups, one module per area; each module exposes ``commands``."""
