"""The ``tandem`` command: ``tandem run``, ``tandem db …`` (Flask-Migrate), and every command group a
feature defines in ``lti_app.commands`` (each module there exposes ``commands``: a list of click commands)."""

from __future__ import annotations

from importlib import import_module
from pkgutil import iter_modules

import click
from flask.cli import FlaskGroup


def _create_app():  # type: ignore[no-untyped-def]
    from lti_app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main() -> None:
    """Tandem: mentoring inside the LMS, over LTI 1.3. Configured by TANDEM_* environment variables."""


def _register_feature_commands() -> None:
    import lti_app.commands as package

    for info in sorted(iter_modules(package.__path__), key=lambda m: m.name):
        module = import_module(f"{package.__name__}.{info.name}")
        for command in getattr(module, "commands", ()):
            main.add_command(command)


_register_feature_commands()
