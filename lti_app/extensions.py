"""Flask extensions, created unbound: the app factory binds them, so importing never builds an engine."""

from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from lti_app.models.base import Base


class TandemApi(Api):
    """flask-smorest, minus its own error handlers: ``lti_app.views.errors`` answers every error in the one
    documented shape ``{"error", "message", "details"}``."""

    def _register_error_handlers(self) -> None:
        return None


db = SQLAlchemy(model_class=Base)
api = TandemApi()
migrate = Migrate()
csrf = CSRFProtect()
