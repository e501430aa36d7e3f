"""Deep linking pieces that need no database: the settings check, the content item, the signed answer."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_app.errors import LaunchError
from lti_app.models.programme import Programme
from lti_app.services.completion.placements import content_item, deep_linking_settings, response_jwt

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
MT = "https://purl.imsglobal.org/spec/lti/claim/message_type"


def request(**settings: object) -> dict:
    return {MT: "LtiDeepLinkingRequest", DL: {"deep_link_return_url": "https://lms.test/return", **settings}}


def test_settings_accepting_resource_links_pass() -> None:
    assert deep_linking_settings(request(accept_types=["ltiResourceLink", "link"]))["deep_link_return_url"]


@pytest.mark.parametrize(
    ("launch", "code"),
    [
        (request(accept_types=["link", "html"]), "unsupported_content_type"),
        (request(), "unsupported_content_type"),
        ({MT: "LtiResourceLinkRequest"}, "not_deep_linking"),
        ({MT: "LtiDeepLinkingRequest", DL: {"accept_types": ["ltiResourceLink"]}}, "missing_claim"),
    ],
)
def test_refusals_say_why(launch: dict, code: str) -> None:
    with pytest.raises(LaunchError) as caught:
        deep_linking_settings(launch)
    assert caught.value.code == code and caught.value.status == 400
    if code == "unsupported_content_type":
        assert "ltiResourceLink" in caught.value.message


def test_signed_answer_echoes_data_only_when_given() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    programme = Programme(id=7, title="Circle", description="", score_maximum=10.0, lineitem_tag="t")
    item = content_item(programme, "https://tool.test/lti/launch")
    assert item["lineItem"] == {
        "scoreMaximum": 10.0,
        "label": "Circle (mentoring completion)",
        "resourceId": "tandem-programme-7",
        "tag": "t",
    }
    common = {
        "client_id": "c1",
        "issuer": "https://lms.test",
        "deployment_id": "3",
        "items": [item],
        "kid": "k1",
        "private_key_pem": pem,
    }
    with_data = response_jwt(settings={"data": "xyz"}, **common)  # type: ignore[arg-type]
    without = response_jwt(settings={}, **common)  # type: ignore[arg-type]
    public = private.public_key()
    claims = jwt.decode(with_data, public, algorithms=["RS256"], audience="https://lms.test")
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "xyz"
    assert claims["iss"] == "c1" and claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] == "3"
    assert jwt.get_unverified_header(with_data)["kid"] == "k1"
    assert "https://purl.imsglobal.org/spec/lti-dl/claim/data" not in jwt.decode(
        without, public, algorithms=["RS256"], audience="https://lms.test"
    )
