"""Alembic environment for Tandem (driven by Flask-Migrate: ``tandem db upgrade|downgrade|check``).

Batch mode lets SQLite alter tables; types are compared so drift in a column type is caught; tables made
by raw DDL (full-text indexes) are ignored by autogenerate and ``db check``.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from lti_app.models.base import include_object

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def _engine():
    return current_app.extensions["migrate"].db.engine


def _metadata():
    return current_app.extensions["migrate"].db.metadata


def run_migrations_offline():
    context.configure(
        url=_engine().url.render_as_string(hide_password=False),
        target_metadata=_metadata(),
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(ctx, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args["render_as_batch"] = True
    conf_args["compare_type"] = True
    conf_args["include_object"] = include_object

    with _engine().connect() as connection:
        context.configure(connection=connection, target_metadata=_metadata(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
