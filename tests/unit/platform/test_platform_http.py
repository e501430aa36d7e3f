"""The test platform over real HTTP, exercised by a fake tool made of plain requests calls and PyJWT."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
import requests
from pytest_httpserver import HTTPServer

from lti_app.demo_lms import vocab
from lti_app.demo_lms.platform import PlatformKey
from tests.platform import Fault, TestPlatform, moodle_fixture
from tests.platform.drive import parse_forms
from tests.platform.tool_side import make_deep_linking_response, token_request_form, tool_registration_request


def auth_query(platform: TestPlatform, **overrides: str) -> dict[str, str]:
    """Start a launch and build the auth request a tool would send for it."""
    sam = platform.add_user(given_name="Sam", family_name="Student")
    course = platform.add_course(title="Leadership")
    initiation = platform.launch(sam, course)
    config = platform.config()
    params = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": config.client_id,
        "redirect_uri": config.tool_launch_url,
        "state": "state-abc",
        "nonce": "nonce-abc",
        "login_hint": initiation.params["login_hint"],
        "lti_message_hint": initiation.params["lti_message_hint"],
    }
    params.update(overrides)
    return params


def get_token(
    platform: TestPlatform, key: PlatformKey, scopes: Any = vocab.SERVICE_SCOPES, **claims: Any
) -> str:
    config = platform.config()
    form = token_request_form(config.client_id, platform.token_url, key, scopes, **claims)
    answer = requests.post(platform.token_url, data=form, timeout=5)
    assert answer.status_code == 200, answer.text
    return str(json.loads(answer.text)["access_token"])


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def score_body(user_id: str, given: float, *, when: datetime | None = None, **extra: Any) -> str:
    stamp = (when or datetime.now(UTC)).isoformat(timespec="milliseconds")
    body = {
        "userId": user_id,
        "scoreGiven": given,
        "scoreMaximum": 10,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": stamp,
        **extra,
    }
    return json.dumps(body)


SCORE_TYPE = {"Content-Type": vocab.MEDIA_SCORE}


# ---------------------------------------------------------------------------------------- JWKS and auth


def test_jwks_is_served_at_both_paths_and_verifies_id_tokens(moodle: TestPlatform) -> None:
    for path in ("/jwks", "/.well-known/jwks.json"):
        document = requests.get(moodle.url(path), timeout=5).json()
        assert document == {"keys": [moodle.signing_key.public_jwk]}
    page = requests.get(moodle.auth_url, params=auth_query(moodle), timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    form = parse_forms(page.text, moodle.auth_url)[0]
    assert form.action == moodle.config().tool_launch_url and form.method == "POST"
    assert set(form.fields) == {"id_token", "state"} and form.fields["state"] == "state-abc"
    signing_key = jwt.PyJWKClient(moodle.jwks_url).get_signing_key_from_jwt(form.fields["id_token"])
    claims = jwt.decode(
        form.fields["id_token"],
        signing_key.key,
        algorithms=["RS256"],
        audience=moodle.config().client_id,
        issuer=moodle.issuer,
    )
    assert claims["nonce"] == "nonce-abc"
    assert claims[vocab.CLAIM_MESSAGE_TYPE] == vocab.MSG_RESOURCE_LINK
    assert claims == moodle.last_launch.claims


def test_auth_endpoint_takes_post_too_and_echoes_the_storage_target(moodle: TestPlatform) -> None:
    page = requests.post(moodle.auth_url, data=auth_query(moodle, lti_storage_target="_parent"), timeout=5)
    fields = parse_forms(page.text)[0].fields
    assert fields["lti_storage_target"] == "_parent"


def test_auth_errors_go_back_to_a_valid_redirect_uri_only(moodle: TestPlatform) -> None:
    page = requests.get(moodle.auth_url, params=auth_query(moodle, prompt="login"), timeout=5)
    form = parse_forms(page.text)[0]
    assert form.action == moodle.config().tool_launch_url
    assert form.fields["error"] == "invalid_request" and form.fields["state"] == "state-abc"
    bad_redirect = requests.get(
        moodle.auth_url, params=auth_query(moodle, redirect_uri="http://evil.example/"), timeout=5
    )
    assert bad_redirect.status_code == 400 and "<form" not in bad_redirect.text
    unknown = requests.get(moodle.auth_url, params=auth_query(moodle, lti_message_hint="{}"), timeout=5)
    assert unknown.status_code == 400


def test_key_rotation(moodle: TestPlatform) -> None:
    old = moodle.signing_key
    hidden = moodle.rotate_key(publish=False)
    kids = [k["kid"] for k in requests.get(moodle.jwks_url, timeout=5).json()["keys"]]
    assert kids == [old.kid]
    page = requests.get(moodle.auth_url, params=auth_query(moodle), timeout=5)
    assert jwt.get_unverified_header(parse_forms(page.text)[0].fields["id_token"])["kid"] == hidden.kid
    moodle.publish_key(hidden.kid)
    assert [k["kid"] for k in moodle.jwks()["keys"]] == [old.kid, hidden.kid]
    newest = moodle.rotate_key("k3", retire_previous=True)
    assert [k["kid"] for k in moodle.jwks()["keys"]] == [hidden.kid, newest.kid]


# ------------------------------------------------------------------------------------------ token endpoint


def test_token_endpoint_answers_like_moodle(moodle: TestPlatform, lti_tool_key: PlatformKey) -> None:
    config = moodle.config()
    form = token_request_form(config.client_id, moodle.token_url, lti_tool_key)
    answer = requests.post(moodle.token_url, data=form, timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"  # Moodle quirk, svc_01_token.json
    body = json.loads(answer.text)
    assert list(body) == list(moodle_fixture("svc_01_token.json")["response"]["json"])
    assert body["scope"].split() == list(vocab.SERVICE_SCOPES)
    assert moodle.count("token") == 1
    replay = requests.post(moodle.token_url, data=form, timeout=5)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    unknown = requests.post(
        moodle.token_url, data=token_request_form("nobody", moodle.token_url, lti_tool_key)
    )
    assert unknown.status_code == 401
    assert moodle.count("token") == 3 and moodle.count("token", status=401) == 2


def test_token_endpoint_fetches_the_tool_jwks_over_http(
    lti_platform_factory: Any, lti_tool_key: PlatformKey, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/lti/jwks").respond_with_json({"keys": [lti_tool_key.public_jwk]})
    platform = lti_platform_factory(product_family="canvas", tool_url=httpserver.url_for("/").rstrip("/"))
    answer = requests.post(
        platform.token_url,
        data=token_request_form(platform.config().client_id, platform.token_url, lti_tool_key),
        timeout=5,
    )
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    httpserver.clear()
    httpserver.expect_request("/lti/jwks").respond_with_data("down", status=500)
    again = requests.post(
        platform.token_url,
        data=token_request_form(platform.config().client_id, platform.token_url, lti_tool_key),
        timeout=5,
    )
    assert again.status_code == 401 and "JWKS" in again.json()["error_description"]


def test_token_endpoint_uses_a_jwks_provider(lti_platform_factory: Any, lti_tool_key: PlatformKey) -> None:
    calls: list[str] = []

    def provider(config: Any) -> dict[str, Any]:
        calls.append(config.client_id)
        return {"keys": [lti_tool_key.public_jwk]}

    platform = lti_platform_factory(tool_url="http://localhost", tool_jwks_provider=provider)
    get_token(platform, lti_tool_key)
    assert calls == [platform.config().client_id]


# ---------------------------------------------------------------------------------------------------- NRPS


@pytest.fixture
def roster(moodle: TestPlatform) -> tuple[TestPlatform, Any, list[Any]]:
    course = moodle.add_course("2", title="LTI Lab Course", label="LTILAB")
    people = []
    for index, role in enumerate(["instructor", "learner", "learner", "learner", "mentor"]):
        person = moodle.add_user(given_name=f"P{index}", family_name="Person")
        moodle.enrol(person, course, role, mentees=[people[1]] if role == "mentor" else [])
        people.append(person)
    return moodle, course, people


def follow_pages(url: str, token: str, **params: Any) -> tuple[list[dict[str, Any]], list[requests.Response]]:
    members, responses = [], []
    next_url: str | None = url + ("?" + urlencode(params) if params else "")
    while next_url:
        response = requests.get(
            next_url, headers=bearer(token, Accept=vocab.MEDIA_MEMBERSHIP_CONTAINER), timeout=5
        )
        assert response.status_code == 200, response.text
        responses.append(response)
        members += response.json()["members"]
        next_url = response.links.get("next", {}).get("url")
    return members, responses


def test_nrps_pages_filters_and_short_roles(roster: Any, lti_tool_key: PlatformKey) -> None:
    platform, course, people = roster
    token = get_token(platform, lti_tool_key, [vocab.SCOPE_NRPS])
    url = platform.config().memberships_url.format(context_id=course.id)
    members, responses = follow_pages(url, token, limit=2)
    assert len(responses) == 3
    assert [m["user_id"] for m in members] == [p.id for p in people]
    assert responses[0].headers["Content-Type"].startswith(vocab.MEDIA_MEMBERSHIP_CONTAINER)
    assert "differences" in responses[-1].links and "next" not in responses[-1].links
    document = responses[0].json()
    assert document["id"] == url and document["context"] == {
        "id": "2",
        "label": "LTILAB",
        "title": "LTI Lab Course",
    }
    expected_member = moodle_fixture("svc_02_nrps_memberships.json")["response"]["json"]["members"][0]
    assert list(members[1]) == list(expected_member)
    assert members[0]["roles"] == ["Instructor"] and members[4]["roles"] == ["Mentor"]
    learners, _ = follow_pages(url, token, role=vocab.ROLE_LEARNER)
    assert len(learners) == 3
    short, _ = follow_pages(url, token, role="Learner", limit=1)
    assert [m["user_id"] for m in short] == [p.id for p in people[1:4]]


def test_nrps_differences_report_changes_and_removals(roster: Any, lti_tool_key: PlatformKey) -> None:
    platform, course, people = roster
    token = get_token(platform, lti_tool_key, [vocab.SCOPE_NRPS])
    url = platform.config().memberships_url.format(context_id=course.id)
    _, responses = follow_pages(url, token)
    differences = responses[-1].links["differences"]["url"]
    platform.unenrol(people[2], course)
    newcomer = platform.add_user()
    platform.enrol(newcomer, course)
    changed = requests.get(differences, headers=bearer(token), timeout=5).json()["members"]
    assert {(m["user_id"], m["status"]) for m in changed} == {
        (people[2].id, "Deleted"),
        (newcomer.id, "Active"),
    }
    current, _ = follow_pages(url, token)
    assert people[2].id not in {m["user_id"] for m in current}


def test_nrps_resource_link_messages(roster: Any, lti_tool_key: PlatformKey) -> None:
    platform, course, _ = roster
    link = platform.add_resource_link(course, "Mentoring", custom={"programme": "p1"})
    token = get_token(platform, lti_tool_key, [vocab.SCOPE_NRPS])
    url = platform.config().memberships_url.format(context_id=course.id)
    members, _ = follow_pages(url, token, rlid=link.id, role="Learner")
    message = members[0]["message"][0]
    assert message[vocab.CLAIM_MESSAGE_TYPE] == vocab.MSG_RESOURCE_LINK
    assert message[vocab.CLAIM_CUSTOM] == {"programme": "p1"}
    assert vocab.CLAIM_BASIC_OUTCOME in message


def test_canvas_nrps_sends_full_role_uris(canvas: TestPlatform, lti_tool_key: PlatformKey) -> None:
    course = canvas.add_course()
    canvas.enrol(canvas.add_user(picture="http://pics/1.png"), course, "learner")
    token = get_token(canvas, lti_tool_key, [vocab.SCOPE_NRPS])
    members, _ = follow_pages(canvas.config().memberships_url.format(context_id=course.id), token)
    assert vocab.ROLE_LEARNER in members[0]["roles"] and members[0]["picture"] == "http://pics/1.png"


def test_services_need_a_token_with_the_right_scope(roster: Any, lti_tool_key: PlatformKey) -> None:
    platform, course, _ = roster
    url = platform.config().memberships_url.format(context_id=course.id)
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers=bearer("forged"), timeout=5).status_code == 401
    score_only = get_token(platform, lti_tool_key, [vocab.SCOPE_SCORE])
    refused = requests.get(url, headers=bearer(score_only), timeout=5)
    assert refused.status_code == 401 and "insufficient_scope" in refused.headers["WWW-Authenticate"]
    good = get_token(platform, lti_tool_key, [vocab.SCOPE_NRPS])
    assert requests.get(url, headers=bearer(good), timeout=5).status_code == 200
    platform.expire_access_tokens()
    assert requests.get(url, headers=bearer(good), timeout=5).status_code == 401
    missing = requests.get(
        platform.url("/nrps/nope/memberships"), headers=bearer(get_token(platform, lti_tool_key))
    )
    assert missing.status_code == 404


# ----------------------------------------------------------------------------------------------------- AGS


@pytest.fixture
def gradebook(moodle: TestPlatform, lti_tool_key: PlatformKey) -> dict[str, Any]:
    course = moodle.add_course("2")
    sam = moodle.add_user("4", given_name="Sam")
    moodle.enrol(sam, course)
    link = moodle.add_resource_link(course, "Lab LTI Activity", score_maximum=10)
    assert link.line_item_id is not None
    token = get_token(moodle, lti_tool_key)
    lineitem = moodle.lineitem_url(link.line_item_id)
    return {
        "platform": moodle,
        "course": course,
        "sam": sam,
        "link": link,
        "token": token,
        "lineitem": lineitem,
    }


def scores_url(lineitem: str) -> str:
    path, _, query = lineitem.partition("?")
    return f"{path}/scores?{query}"


def test_line_items_list_get_create_update_delete(gradebook: dict[str, Any]) -> None:
    platform, token, lineitem = gradebook["platform"], gradebook["token"], gradebook["lineitem"]
    assert lineitem.endswith("/lineitem?type_id=1")
    container = platform.config().service_url(platform.config().lineitems_url, context_id="2")
    listed = requests.get(container, headers=bearer(token), timeout=5)
    assert listed.headers["Content-Type"].startswith(vocab.MEDIA_LINEITEM_CONTAINER)
    items = listed.json()
    assert isinstance(items, list) and items[0]["id"] == lineitem  # Moodle: a bare array
    assert list(items[0]) == list(moodle_fixture("svc_04_ags_lineitems.json")["response"]["json"][0])
    body = moodle_fixture("svc_08_ags_create_lineitem.json")["request"]["body"]
    created = requests.post(
        container,
        data=json.dumps(body),
        headers=bearer(token, **{"Content-Type": vocab.MEDIA_LINEITEM}),
        timeout=5,
    )
    assert created.status_code == 201 and created.json()["label"] == "Tool-created line item"
    new_url = created.json()["id"]
    assert requests.get(container + "&tag=lab", headers=bearer(token), timeout=5).json()[0]["id"] == new_url
    paged = requests.get(container + "&limit=1", headers=bearer(token), timeout=5)
    assert "next" in paged.links
    update = {**body, "label": "Renamed", "scoreMaximum": 50}
    put = requests.put(
        new_url,
        data=json.dumps(update),
        headers=bearer(token, **{"Content-Type": vocab.MEDIA_LINEITEM}),
        timeout=5,
    )
    assert put.status_code == 200 and put.json()["scoreMaximum"] == 50
    assert requests.get(new_url, headers=bearer(token), timeout=5).json()["label"] == "Renamed"
    assert requests.delete(new_url, headers=bearer(token), timeout=5).status_code == 204
    assert requests.get(new_url, headers=bearer(token), timeout=5).status_code == 404
    wrong_type = requests.post(container, data=json.dumps(body), headers=bearer(token), timeout=5)
    assert wrong_type.status_code == 400


def test_scores_need_the_exact_media_type_and_are_recorded(gradebook: dict[str, Any]) -> None:
    platform, token, lineitem, sam = (
        gradebook["platform"],
        gradebook["token"],
        gradebook["lineitem"],
        gradebook["sam"],
    )
    url = scores_url(lineitem)
    for content_type in ("application/json", "application/vnd.ims.lis.v2.score+json", "text/plain"):
        refused = requests.post(
            url,
            data=score_body(sam.id, 5),
            headers=bearer(token, **{"Content-Type": content_type}),
            timeout=5,
        )
        assert refused.status_code == 400, content_type  # Moodle answers 400 (415 on other platforms)
    posted = requests.post(
        url, data=score_body(sam.id, 8.5, comment="well done"), headers=bearer(token, **SCORE_TYPE)
    )
    assert posted.status_code == 200 and posted.content == b""
    assert posted.headers["Content-Type"].startswith(vocab.MEDIA_SCORE)
    final = platform.final_score(sam, gradebook["link"])
    assert final is not None and final.score_given == 8.5 and final.comment == "well done"
    assert final.activity_progress == "Completed" and final.grading_progress == "FullyGraded"
    assert final.scaled == 0.85 and final.client_id == platform.config().client_id
    results = requests.get(
        f"{lineitem.partition('?')[0]}/results?type_id=1", headers=bearer(token), timeout=5
    )
    assert results.headers["Content-Type"].startswith(vocab.MEDIA_RESULT_CONTAINER)
    assert results.json()[0]["resultScore"] == 8.5 and results.json()[0]["userId"] == sam.id


def test_scores_follow_timestamps_and_the_roster(gradebook: dict[str, Any]) -> None:
    platform, lineitem, sam = gradebook["platform"], gradebook["lineitem"], gradebook["sam"]
    url, headers = scores_url(lineitem), bearer(gradebook["token"], **SCORE_TYPE)
    later = datetime.now(UTC)
    assert requests.post(url, data=score_body(sam.id, 9, when=later), headers=headers).status_code == 200
    stale = requests.post(url, data=score_body(sam.id, 2, when=later - timedelta(minutes=1)), headers=headers)
    assert stale.status_code == 409  # Moodle refuses an earlier (or equal) timestamp
    same = requests.post(url, data=score_body(sam.id, 3, when=later), headers=headers)
    assert same.status_code == 409
    stranger = requests.post(url, data=score_body("999", 5), headers=headers)
    assert stranger.status_code == 400
    assert requests.post(url, data="{not json", headers=headers).status_code == 400
    assert [s.score_given for s in platform.scores_for(sam)] == [9]
    assert len(platform.rejected_scores) == 4
    pending = requests.post(
        url,
        data=score_body(sam.id, 1, gradingProgress="Pending", activityProgress="Submitted"),
        headers=headers,
    )
    assert pending.status_code == 200
    final = platform.final_score(sam)
    assert final is not None and final.score_given is None and final.activity_progress == "Submitted"
    assert list(platform.final_scores()) == [(gradebook["link"].line_item_id, sam.id)]


def test_ags_keeps_moodles_type_id(gradebook: dict[str, Any]) -> None:
    token, lineitem, sam = gradebook["token"], gradebook["lineitem"], gradebook["sam"]
    headers = bearer(token, **SCORE_TYPE)
    without_query = lineitem.partition("?")[0] + "/scores"
    assert requests.post(without_query, data=score_body(sam.id, 1), headers=headers).status_code == 403
    naive_join = lineitem + "/scores"  # "...lineitem?type_id=1/scores": the classic mistake
    assert requests.post(naive_join, data=score_body(sam.id, 1), headers=headers).status_code in (403, 405)


def test_canvas_scores_refuse_wrong_media_type_with_415(
    canvas: TestPlatform, lti_tool_key: PlatformKey
) -> None:
    course = canvas.add_course()
    learner = canvas.add_user()
    canvas.enrol(learner, course)
    link = canvas.add_resource_link(course)
    token = get_token(canvas, lti_tool_key)
    url = scores_url(canvas.lineitem_url(link.line_item_id or "")).rstrip("?")
    answer = requests.post(
        url, data=score_body(learner.id, 1), headers=bearer(token, **{"Content-Type": "a/b"})
    )
    assert answer.status_code == 415
    assert (
        requests.post(url, data=score_body(learner.id, 1), headers=bearer(token, **SCORE_TYPE)).status_code
        == 200
    )


# ---------------------------------------------------------------------------------------------------- faults


def test_scripted_faults_then_normal_service(gradebook: dict[str, Any]) -> None:
    platform, lineitem, sam = gradebook["platform"], gradebook["lineitem"], gradebook["sam"]
    url, headers = scores_url(lineitem), bearer(gradebook["token"], **SCORE_TYPE)
    platform.faults.add("scores", [503, Fault.rate_limited(retry_after=1), Fault.error(500, body="oops")])
    assert platform.faults.pending("scores") == 3
    statuses = [requests.post(url, data=score_body(sam.id, 1), headers=headers) for _ in range(4)]
    assert [r.status_code for r in statuses] == [503, 429, 500, 200]
    assert statuses[1].headers["Retry-After"] == "1" and statuses[2].text == "oops"
    assert len(platform.scores_for(sam)) == 1
    assert platform.count("scores") == 4 and platform.count("scores", status=503) == 1
    with pytest.raises(ValueError, match="unknown endpoint"):
        platform.faults.add("score", 503)


def test_slow_malformed_mislabelled_and_dropped_answers(gradebook: dict[str, Any]) -> None:
    platform, token = gradebook["platform"], gradebook["token"]
    container = platform.config().service_url(platform.config().lineitems_url, context_id="2")
    platform.faults.add(
        "lineitems", [Fault.slow(2), Fault.malformed_json(), Fault.wrong_content_type(), Fault.dropped()]
    )
    with pytest.raises(requests.Timeout):
        requests.get(container, headers=bearer(token), timeout=0.2)
    truncated = requests.get(container, headers=bearer(token), timeout=5)
    assert truncated.status_code == 200
    with pytest.raises(ValueError):
        truncated.json()
    mislabelled = requests.get(container, headers=bearer(token), timeout=5)
    assert mislabelled.headers["Content-Type"] == "text/html; charset=utf-8" and isinstance(
        mislabelled.json(), list
    )
    with pytest.raises(requests.ConnectionError):
        requests.get(container, headers=bearer(token), timeout=5)
    assert requests.get(container, headers=bearer(token), timeout=5).status_code == 200


def test_outages_and_connection_refused(gradebook: dict[str, Any], lti_tool_key: PlatformKey) -> None:
    platform = gradebook["platform"]
    platform.faults.down()
    assert requests.get(platform.jwks_url, timeout=5).status_code == 503
    assert requests.post(platform.token_url, data={}, timeout=5).status_code == 503
    platform.faults.up()
    platform.faults.down(endpoints=["token"])
    assert requests.get(platform.jwks_url, timeout=5).status_code == 200
    assert requests.post(platform.token_url, data={}, timeout=5).status_code == 503
    platform.faults.clear()
    base = platform.base_url
    platform.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(platform.jwks_url, timeout=5)
    assert platform.start() == base
    assert get_token(platform, lti_tool_key)


def test_latency_applies_to_every_request(gradebook: dict[str, Any]) -> None:
    platform = gradebook["platform"]
    platform.latency = 0.02
    assert requests.get(platform.jwks_url, timeout=5).status_code == 200
    platform.latency = 0.0


# ------------------------------------------------------------------------------------- dynamic registration


def test_dynamic_registration_over_http(moodle: TestPlatform, lti_tool_key: PlatformKey) -> None:
    params = moodle.start_registration()
    configuration = requests.get(params["openid_configuration"], timeout=5).json()
    assert configuration["issuer"] == moodle.issuer
    assert configuration["registration_endpoint"] == moodle.registration_url
    assert list(configuration) == list(moodle_fixture("openid-configuration.json"))
    metadata = tool_registration_request("http://tool.test")
    refused = requests.post(configuration["registration_endpoint"], json=metadata, timeout=5)
    assert refused.status_code == 401
    answer = requests.post(
        configuration["registration_endpoint"],
        json=metadata,
        headers=bearer(params["registration_token"]),
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert list(body) == list(moodle_fixture("dynreg_capture.json")["registration_response"])
    deployment = body[vocab.TOOL_CONFIGURATION]["deployment_id"]
    config = moodle.config(body["client_id"], deployment)
    assert config.tool_login_url == "http://tool.test/lti/login"
    assert moodle.registrations[-1].client_id == body["client_id"]
    again = requests.post(
        configuration["registration_endpoint"],
        json=metadata,
        headers=bearer(params["registration_token"]),
        timeout=5,
    )
    assert again.status_code == 401
    broken = {**metadata, "token_endpoint_auth_method": "none"}
    second = moodle.start_registration()
    bad = requests.post(moodle.registration_url, json=broken, headers=bearer(second["registration_token"]))
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client_metadata"


def test_registered_tools_stay_pending_until_activated(
    lti_platform_factory: Any, lti_tool_key: PlatformKey
) -> None:
    platform = lti_platform_factory(
        auto_activate_registrations=False, tool_jwks={"keys": [lti_tool_key.public_jwk]}
    )
    token = platform.start_registration()["registration_token"]
    body = requests.post(
        platform.registration_url, json=tool_registration_request("http://tool.test"), headers=bearer(token)
    ).json()
    user, course = platform.add_user(), platform.add_course()
    with pytest.raises(Exception, match="not activated"):
        platform.launch(user, course, client_id=body["client_id"])
    form = token_request_form(body["client_id"], platform.token_url, lti_tool_key)
    assert requests.post(platform.token_url, data=form, timeout=5).status_code == 401
    platform.activate(body["client_id"])
    assert platform.launch(user, course, client_id=body["client_id"]).params["client_id"] == body["client_id"]


# ------------------------------------------------------------------------------------------- deep linking


def test_deep_linking_return_creates_links_and_line_items(
    moodle: TestPlatform, lti_tool_key: PlatformKey
) -> None:
    from lti_app.demo_lms.platform import DeepLinkingSettings

    teacher, course = moodle.add_user(), moodle.add_course()
    initiation = moodle.launch(
        teacher,
        course,
        kind="deep_linking",
        role="instructor",
        deep_linking=DeepLinkingSettings(data="ctx-42"),
    )
    answer = moodle.authorize_request(
        auth_query(moodle, login_hint=teacher.id, lti_message_hint=initiation.params["lti_message_hint"])
    )
    settings = answer.claims[vocab.CLAIM_DL_SETTINGS]
    item = {
        "type": "ltiResourceLink",
        "title": "Peer mentoring",
        "custom": {"programme": "p9"},
        "lineItem": {"scoreMaximum": 1, "label": "Mentoring completion", "tag": "tandem"},
    }
    bad = make_deep_linking_response(moodle.config(), lti_tool_key, [item], data="tampered")
    refused = requests.post(settings["deep_link_return_url"], data={"JWT": bad}, timeout=5)
    assert refused.status_code == 400 and "data" in refused.json()["error_description"]
    good = make_deep_linking_response(moodle.config(), lti_tool_key, [item], data=settings["data"])
    accepted = requests.post(settings["deep_link_return_url"], data={"JWT": good}, timeout=5)
    assert accepted.status_code == 200 and "Peer mentoring" in accepted.text
    (result,) = moodle.deep_link_returns
    (link,) = result.created_links
    assert link.title == "Peer mentoring" and link.line_item_id is not None
    stored = moodle.line_items[link.line_item_id]
    assert (stored.label, stored.score_maximum, stored.tag) == ("Mentoring completion", 1.0, "tandem")
    replay = requests.post(settings["deep_link_return_url"], data={"JWT": good}, timeout=5)
    assert replay.status_code == 400
    launch = moodle.launch(teacher, course, resource_link=link)
    assert launch.params["lti_message_hint"]
