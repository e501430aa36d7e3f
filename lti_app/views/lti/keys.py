"""The tool's public face for platforms: its keys (``/lti/jwks``) and its addresses (``/lti/config``).

Both are public by nature: platforms fetch the JWKS without credentials, and the configuration only lists
URLs an admin pastes into the LMS.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from lms_clients.scopes import ALL as SERVICE_SCOPES
from lti_app.crypto import SecretBox
from lti_app.extensions import db
from lti_app.services.dynamic_registration import TOOL_DESCRIPTION, TOOL_NAME
from lti_app.services.keys import ensure_key, published_jwks
from lti_app.services.registrations import ToolUrls, tool_urls

bp = Blueprint("lti_keys", __name__)

# Platforms cache the JWKS; five minutes keeps a rotation visible quickly without a fetch per launch.
JWKS_MAX_AGE = 300


def _urls() -> ToolUrls:
    return tool_urls(current_app.extensions["tandem.settings"].base_url)


@bp.get("/lti/jwks")
def jwks():  # type: ignore[no-untyped-def]
    key_set = published_jwks(db.session)
    if not key_set["keys"]:
        # A platform may fetch the key set before Tandem ever signed anything: never publish an empty set
        # that it would cache.
        ensure_key(db.session, SecretBox(current_app.extensions["tandem.settings"].secret_key))
        db.session.commit()
        key_set = published_jwks(db.session)
    response = jsonify(key_set)
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    # A platform's server fetches this, and browser-based checkers may too.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def canvas_configuration(urls: ToolUrls) -> dict[str, Any]:
    """The JSON a Canvas admin pastes into a new LTI developer key ("Enter JSON" / "Paste JSON")."""
    return {
        "title": TOOL_NAME,
        "description": TOOL_DESCRIPTION,
        "oidc_initiation_url": urls.login,
        "target_link_uri": urls.launch,
        "redirect_uris": list(urls.redirect_uris),
        "public_jwk_url": urls.jwks,
        "scopes": list(SERVICE_SCOPES),
        "extensions": [
            {
                "platform": "canvas.instructure.com",
                "domain": urls.domain,
                "tool_id": "tandem",
                # "public" sends names and emails: profiles and notifications need them.
                "privacy_level": "public",
                "settings": {
                    "text": TOOL_NAME,
                    "placements": [
                        {
                            "placement": "course_navigation",
                            "message_type": "LtiResourceLinkRequest",
                            "target_link_uri": urls.launch,
                            "text": "Mentoring",
                            "default": "enabled",
                        },
                        {
                            "placement": "link_selection",
                            "message_type": "LtiDeepLinkingRequest",
                            "target_link_uri": urls.deep_link,
                            "text": TOOL_NAME,
                        },
                        {
                            "placement": "assignment_selection",
                            "message_type": "LtiDeepLinkingRequest",
                            "target_link_uri": urls.deep_link,
                            "text": TOOL_NAME,
                        },
                    ],
                },
            }
        ],
        "custom_fields": {},
    }


@bp.get("/lti/config")
def config():  # type: ignore[no-untyped-def]
    urls = _urls()
    return jsonify(
        {
            "title": TOOL_NAME,
            "description": TOOL_DESCRIPTION,
            **urls.as_dict(),
            "scopes": list(SERVICE_SCOPES),
            "messages": ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"],
            "canvas": canvas_configuration(urls),
        }
    )


@bp.get("/lti/config/canvas.json")
def canvas_config():  # type: ignore[no-untyped-def]
    return jsonify(canvas_configuration(_urls()))
