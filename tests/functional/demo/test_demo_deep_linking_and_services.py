"""Deep linking from the demo (a trainer adds Tandem), and the services the tool calls: token, NRPS, AGS."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import jwt

from lti_app.demo_lms import store, vocab
from lti_app.models.demo import DemoLineItem, DemoLink, DemoScore
from lti_app.services import keys

from .conftest import ISSUER, TOOL, auth_request, form_of, start_launch, verify_id_token


def deep_link_launch(client, user: str = "demo-trainer"):  # type: ignore[no-untyped-def]
    login = start_launch(client, user, kind="deep_linking")
    handoff = form_of(client.get("/demo/auth", query_string=auth_request(login)).get_data(as_text=True))
    return verify_id_token(client, handoff.fields["id_token"])


def tool_jwt(db_session, box, claims: dict, *, kid: str | None = None) -> str:  # type: ignore[no-untyped-def]
    signing = keys.signing_key(db_session, box)
    db_session.commit()
    return jwt.encode(claims, signing.private_key_pem, algorithm="RS256", headers={"kid": kid or signing.kid})


def deep_linking_response(items: list[dict], **overrides) -> dict:  # type: ignore[no-untyped-def]
    now = int(time.time())
    claims = {
        "iss": store.CLIENT_ID, "aud": ISSUER, "iat": now, "exp": now + 300, "nonce": uuid.uuid4().hex,
        vocab.CLAIM_MESSAGE_TYPE: vocab.MSG_DEEP_LINKING_RESPONSE, vocab.CLAIM_VERSION: vocab.LTI_VERSION,
        vocab.CLAIM_DEPLOYMENT_ID: "1", vocab.CLAIM_DL_CONTENT_ITEMS: items,
    }
    claims.update(overrides)
    return claims


ITEM = {
    "type": "ltiResourceLink", "title": "Career mentoring", "url": f"{TOOL}/lti/launch",
    "custom": {"tandem_programme": "42"},
    "lineItem": {"label": "Career mentoring completion", "scoreMaximum": 1},
}


def test_a_trainer_deep_links_and_the_tool_answer_places_a_link(client, db_session, demo, tool_box) -> None:
    claims = deep_link_launch(client)
    assert claims[vocab.CLAIM_MESSAGE_TYPE] == vocab.MSG_DEEP_LINKING
    settings = claims[vocab.CLAIM_DL_SETTINGS]
    assert settings["deep_link_return_url"].startswith(f"{ISSUER}/deep_link_return?launch=")
    token = tool_jwt(db_session, tool_box, deep_linking_response([ITEM]))
    path = settings["deep_link_return_url"][len(TOOL):]
    response = client.post(path, data={"JWT": token})
    assert response.status_code == 200, response.data[:600]
    assert b"Career mentoring" in response.data
    link = db_session.query(DemoLink).filter_by(title="Career mentoring").one()
    assert link.custom == {"tandem_programme": "42"}
    column = db_session.query(DemoLineItem).filter_by(link_id=link.id).one()
    assert (column.label, column.score_maximum) == ("Career mentoring completion", 1.0)

    # The new link is launchable, with its custom parameter and its own gradebook column.
    login = start_launch(client, "demo-learner", link=link.resource_link_id)
    handoff = form_of(client.get("/demo/auth", query_string=auth_request(login)).get_data(as_text=True))
    launched = verify_id_token(client, handoff.fields["id_token"])
    assert launched[vocab.CLAIM_CUSTOM]["tandem_programme"] == "42"
    assert launched[vocab.CLAIM_AGS_ENDPOINT]["lineitem"].endswith(f"/lineitems/{column.id}/lineitem")

    replay = client.post(path, data={"JWT": token})
    assert replay.status_code == 400 and db_session.query(DemoLink).count() == 2


def test_a_deep_linking_answer_not_signed_by_the_tool_is_refused(client, db_session, demo, tool_box) -> None:
    settings = deep_link_launch(client)[vocab.CLAIM_DL_SETTINGS]
    from lti_app.demo_lms.platform import PlatformKey

    stranger = PlatformKey.generate()
    forged = jwt.encode(deep_linking_response([ITEM]), stranger.private_pem, algorithm="RS256",
                        headers={"kid": stranger.kid})
    keys.ensure_key(db_session, tool_box)
    db_session.commit()
    response = client.post(settings["deep_link_return_url"][len(TOOL):], data={"JWT": forged})
    assert response.status_code == 400
    assert db_session.query(DemoLink).count() == 1


def test_learners_cannot_start_deep_linking(client, demo) -> None:
    response = client.get("/demo/launch", query_string={"user": "demo-learner", "kind": "deep_linking"})
    assert response.status_code == 403


def access_token(client, db_session, tool_box, *scopes: str) -> str:  # type: ignore[no-untyped-def]
    now = int(time.time())
    assertion = tool_jwt(db_session, tool_box, {
        "iss": store.CLIENT_ID, "sub": store.CLIENT_ID, "aud": f"{ISSUER}/token",
        "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex,
    })
    response = client.post("/demo/token", data={
        "grant_type": "client_credentials", "client_assertion_type": vocab.CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion, "scope": " ".join(scopes),
    })
    assert response.status_code == 200, response.data
    return response.get_json()["access_token"]


def test_token_nrps_and_ags_as_the_tool_uses_them(client, db_session, demo, tool_box) -> None:
    scopes = (vocab.SCOPE_NRPS, vocab.SCOPE_SCORE, vocab.SCOPE_LINEITEM)
    token = access_token(client, db_session, tool_box, *scopes)
    bearer = {"Authorization": f"Bearer {token}"}

    roster = client.get("/demo/nrps/demo-course-1/memberships", headers=bearer)
    assert roster.status_code == 200 and roster.content_type == vocab.MEDIA_MEMBERSHIP_CONTAINER
    members = {m["user_id"]: m["roles"] for m in roster.get_json()["members"]}
    assert members["demo-learner"] == ["Learner"] and "Instructor" in members["demo-trainer"]

    columns = client.get("/demo/ags/demo-course-1/lineitems", headers=bearer).get_json()
    assert [c["label"] for c in columns] == ["Mentoring completion"]
    score = {
        "userId": "demo-learner", "scoreGiven": 1, "scoreMaximum": 1, "activityProgress": "Completed",
        "gradingProgress": "FullyGraded", "timestamp": datetime.now(UTC).isoformat(),
    }
    posted = client.post(columns[0]["id"][len(TOOL):] + "/scores", json=score, headers=bearer,
                         content_type=vocab.MEDIA_SCORE)
    assert posted.status_code == 200 and posted.data == b""
    row = db_session.query(DemoScore).one()
    assert (row.user_id, row.score_given, row.grading_progress) == ("demo-learner", 1.0, "FullyGraded")
    assert "1 / 1" in client.get("/demo/").get_data(as_text=True)


def test_services_refuse_missing_or_wrong_tokens(client, db_session, demo, tool_box) -> None:
    assert client.get("/demo/nrps/demo-course-1/memberships").status_code == 401
    token = access_token(client, db_session, tool_box, vocab.SCOPE_NRPS)
    refused = client.post("/demo/ags/demo-course-1/lineitems/1/lineitem/scores", json={},
                          headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_token"


def test_a_replayed_client_assertion_is_refused(client, db_session, demo, tool_box) -> None:
    now = int(time.time())
    assertion = tool_jwt(db_session, tool_box, {
        "iss": store.CLIENT_ID, "sub": store.CLIENT_ID, "aud": f"{ISSUER}/token",
        "iat": now, "exp": now + 300, "jti": "same",
    })
    form = {"grant_type": "client_credentials", "client_assertion_type": vocab.CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion, "scope": vocab.SCOPE_NRPS}
    assert client.post("/demo/token", data=form).status_code == 200
    again = client.post("/demo/token", data=form)
    assert again.status_code == 401 and again.get_json()["error"] == "invalid_client"
