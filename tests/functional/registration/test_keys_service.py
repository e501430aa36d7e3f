"""Tool keys: created once, rotated without pulling a key from under the platforms, retired on time."""

from __future__ import annotations

from datetime import timedelta

import jwt
from cryptography.hazmat.primitives import serialization

from lti_app.crypto import SecretBox
from lti_app.models.base import utcnow
from lti_app.models.registration import ToolKey
from lti_app.services import keys

BOX = SecretBox("test-secret-key-that-is-long-enough-0123456789")


def test_ensure_key_creates_one_rsa_2048_key_and_is_idempotent(db_session) -> None:
    first, created = keys.ensure_key(db_session, BOX)
    again, created_again = keys.ensure_key(db_session, BOX)
    assert created and not created_again and again.id == first.id
    assert db_session.query(ToolKey).count() == 1
    private = serialization.load_pem_private_key(BOX.open(first.private_key_sealed).encode(), password=None)
    assert private.key_size >= 2048
    assert first.public_jwk["kid"] == first.kid and first.public_jwk["alg"] == "RS256"
    assert "BEGIN" not in first.private_key_sealed, "the private key must be sealed at rest"


def test_signing_key_signs_tokens_the_published_jwks_verifies(db_session) -> None:
    signing = keys.signing_key(db_session, BOX)
    token = jwt.encode(
        {"iss": "tandem"}, signing.private_key_pem, algorithm="RS256", headers={"kid": signing.kid}
    )
    jwk = next(k for k in keys.published_jwks(db_session)["keys"] if k["kid"] == signing.kid)
    public = jwt.PyJWK(jwk).key
    assert jwt.decode(token, public, algorithms=["RS256"]) == {"iss": "tandem"}


def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(db_session) -> None:
    old, _ = keys.ensure_key(db_session, BOX)
    new = keys.rotate(db_session, BOX)
    assert keys.signing_key(db_session, BOX).kid == new.kid
    kids = [k["kid"] for k in keys.published_jwks(db_session)["keys"]]
    assert kids == [new.kid, old.kid]
    assert db_session.get(ToolKey, old.id).status == keys.RETIRING


def test_a_retiring_key_drops_out_after_the_grace_period_even_before_retirement(db_session) -> None:
    old, _ = keys.ensure_key(db_session, BOX)
    new = keys.rotate(db_session, BOX)
    later = utcnow() + keys.RETIREMENT_GRACE + timedelta(minutes=1)
    assert [k["kid"] for k in keys.published_jwks(db_session, later)["keys"]] == [new.kid]
    statuses = {k.kid: k.status for k in keys.list_keys(db_session, later)}
    assert statuses == {new.kid: keys.ACTIVE, old.kid: keys.RETIRED}


def test_retire_expired_unpublishes_and_destroys_the_private_half(db_session) -> None:
    old, _ = keys.ensure_key(db_session, BOX)
    keys.rotate(db_session, BOX)
    assert keys.retire_expired(db_session, utcnow()) == [], "inside the grace period nothing retires"
    retired = keys.retire_expired(db_session, utcnow() + keys.RETIREMENT_GRACE + timedelta(seconds=1))
    assert [k.kid for k in retired] == [old.kid]
    row = db_session.get(ToolKey, old.id)
    assert row.status == keys.RETIRED and row.private_key_sealed == ""


def test_two_rotations_keep_both_previous_keys_published(db_session) -> None:
    first, _ = keys.ensure_key(db_session, BOX)
    second = keys.rotate(db_session, BOX)
    third = keys.rotate(db_session, BOX)
    kids = [k["kid"] for k in keys.published_jwks(db_session)["keys"]]
    assert kids == [third.kid, second.kid, first.kid]
    assert [k.signs for k in keys.list_keys(db_session)] == [True, False, False]
