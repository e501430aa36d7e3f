"""Every table, imported in one place so metadata (and migrations) see them all.

Each domain area keeps its tables in its own module; importing this package loads them all.
"""

from importlib import import_module
from pkgutil import iter_modules

from lti_app.models.base import Base

for _module in iter_modules(__path__):
    import_module(f"{__name__}.{_module.name}")

metadata = Base.metadata

__all__ = ["Base", "metadata"]
