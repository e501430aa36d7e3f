"""Key material, without a database: kids are RFC 7638 thumbprints, keys are RSA 2048 and sealed."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

from lti_app.crypto import SecretBox
from lti_app.models.base import utcnow
from lti_app.services.keys import KEY_SIZE, _new_key, _thumbprint

# RFC 7638 §3.1: the example key and its SHA-256 thumbprint.
RFC_7638_JWK = {
    "kty": "RSA",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJE"
        "CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
        "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6"
        "WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
}


def test_kid_is_the_rfc_7638_thumbprint() -> None:
    assert _thumbprint(RFC_7638_JWK) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_a_new_key_is_rsa_2048_sealed_and_named_by_its_thumbprint() -> None:
    box = SecretBox("unit-test-secret")
    key = _new_key(box, utcnow())
    assert key.kid == _thumbprint(key.public_jwk) == key.public_jwk["kid"]
    assert key.public_jwk["alg"] == "RS256" and key.public_jwk["use"] == "sig"
    assert set(key.public_jwk) == {"kty", "e", "n", "kid", "alg", "use"}
    private = serialization.load_pem_private_key(box.open(key.private_key_sealed).encode(), password=None)
    assert private.key_size == KEY_SIZE >= 2048
    assert key.status == "active"
