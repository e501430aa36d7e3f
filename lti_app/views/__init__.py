"""Blueprints, split by audience: ``lti/`` (protocol endpoints), ``pages/`` (HTML inside the LMS),
``api/`` (JSON under /api/v1), ``admin/``.

Every module below this package that defines a ``bp`` Blueprint is registered, in a stable order, so a
feature adds its views without editing a central list.
"""

from __future__ import annotations

from importlib import import_module
from pkgutil import walk_packages
from typing import Any

from flask import Blueprint, Flask
from flask_smorest import Blueprint as ApiBlueprint
from werkzeug.routing import IntegerConverter, Map

from lti_app.domain.numbers import MAX_ID


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: ASCII digits only (werkzeug's ``\\d+`` takes other scripts' digits) and at
    most the largest 64-bit id, so a longer number is a 404 like any unknown id, not an OverflowError in the
    database driver."""

    regex = r"[0-9]+"

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def register_views(app: Flask) -> None:
    from lti_app.extensions import api, csrf
    from lti_app.views import errors

    # Before any rule is added: rules resolve their converters when they are created.
    app.url_map.converters["int"] = IdConverter
    errors.register_error_handlers(app)
    found: list[Blueprint] = []
    for info in sorted(walk_packages(__path__, prefix=f"{__name__}."), key=lambda m: m.name):
        module = import_module(info.name)
        bp = getattr(module, "bp", None)
        if isinstance(bp, Blueprint) and bp not in found:
            found.append(bp)
    for bp in found:
        if isinstance(bp, ApiBlueprint):
            # The JSON API authenticates with a Bearer launch token, never a cookie, so a cross-site page
            # cannot forge a call: CSRF tokens would add nothing there.
            csrf.exempt(bp)
            api.register_blueprint(bp, url_prefix=bp.url_prefix)
        else:
            app.register_blueprint(bp)
    for hook in _post_register_hooks(found):
        hook(app)


def _post_register_hooks(blueprints: list[Blueprint]):  # type: ignore[no-untyped-def]
    for bp in blueprints:
        hook = getattr(bp, "tandem_init_app", None)
        if hook is not None:
            yield hook
