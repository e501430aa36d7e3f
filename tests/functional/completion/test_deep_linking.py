"""Deep Linking through real launches from the test platform: the trainer's chooser, the signed response
verified with the tool's published JWKS, the line item the platform creates from it, and a learner's
completion landing on that very line item. Also the refusals, and a resource link added without a
programme."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from flask import Flask
from sqlalchemy import select

from lti_app.demo_lms.platform import DeepLinkingSettings
from lti_app.extensions import db
from lti_app.models.completion import SyncJob
from lti_app.models.course import Course, Placement
from lti_app.models.person import Person
from lti_app.models.programme import Programme
from lti_app.models.registration import Deployment, Registration
from lti_app.models.relationship import Relationship, RelationshipMember
from lti_app.services.completion import tracker
from lti_app.tasks.sync_worker import SyncWorker
from tests.platform import TestPlatform, drive_launch, submit_deep_linking_response
from tests.platform.drive import parse_forms

TOOL_URL = "http://tool.test"
CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"


@pytest.fixture()
def moodle(app: Flask, lti_platform: TestPlatform) -> TestPlatform:
    lti_platform.add_tool(TOOL_URL)
    details = lti_platform.registration_details()
    registration = Registration(
        name="Test Moodle",
        issuer=details["issuer"],
        client_id=details["client_id"],
        auth_login_url=details["auth_login_url"],
        auth_token_url=details["auth_token_url"],
        key_set_url=details["key_set_url"],
        product_family="moodle",
    )
    registration.deployments = [Deployment(deployment_id=d) for d in details["deployment_ids"]]
    db.session.add(registration)
    db.session.commit()
    return lti_platform


def landing(client, response) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Follow a launch's 303: the page's path and its launch token."""
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    location = urlsplit(response.headers["Location"])
    return location.path, parse_qs(location.query)["lt"][0]


def deep_link(app, platform, course, user, **settings):  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = drive_launch(
        client, platform, user, course, "deep_linking", deep_linking=DeepLinkingSettings(**settings)
    )
    path, token = landing(client, response)
    return client, path, token


def post_form(client, page: str, **fields: str):  # type: ignore[no-untyped-def]
    [form] = [f for f in parse_forms(page, "http://tool.test") if f.method == "POST"]
    url = urlsplit(form.action)
    return client.post(url.path + ("?" + url.query if url.query else ""), data={**form.fields, **fields})


def test_deep_linking_round_trip_to_a_graded_completion(app, moodle) -> None:
    teacher = moodle.add_user(given_name="Terry", family_name="Teacher")
    course = moodle.add_course(title="Leadership 101")
    moodle.enrol(teacher, course, "instructor")
    client, path, token = deep_link(app, moodle, course, teacher, data="opaque-state-42", title="DL test")
    assert path == "/lti/deep-linking"

    chooser = client.get(path, query_string={"lt": token})
    assert chooser.status_code == 200
    assert "A new programme named" in chooser.get_data(as_text=True)
    answer = post_form(client, chooser.get_data(as_text=True), programme_id="new", title="Leaders' circle")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    page = answer.get_data(as_text=True)
    assert answer.headers["Cache-Control"] == "no-store"
    # Auto-submits with a nonce'd inline script (strict CSP), and works without JavaScript too.
    nonce = answer.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page and 'type="submit"' in page
    assert moodle.issuer in answer.headers["Content-Security-Policy"].split("form-action")[1]

    programme = db.session.scalars(select(Programme)).one()
    assert programme.title == "Leaders' circle"
    [form] = parse_forms(page)
    assert form.action.startswith(moodle.url("/deep_linking/return"))

    # The JWT verifies with the tool's published key set, as the platform will check it.
    jwks = client.get("/lti/jwks").get_json()
    header = jwt.get_unverified_header(form.fields["JWT"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        form.fields["JWT"],
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience=moodle.issuer,
        issuer=moodle.config().client_id,
    )
    assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == "LtiDeepLinkingResponse"
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-state-42"
    [item] = claims[CONTENT_ITEMS]
    assert item["type"] == "ltiResourceLink" and item["title"] == "Leaders' circle"
    assert item["custom"] == {"tandem_programme": str(programme.id)}
    assert item["lineItem"] == {
        "scoreMaximum": 100.0,
        "label": "Leaders' circle (mentoring completion)",
        "resourceId": f"tandem-programme-{programme.id}",
        "tag": "tandem-completion",
    }

    # The platform verifies it against the tool's JWKS and creates the link with its gradebook column.
    moodle.tool_jwks = jwks
    result = submit_deep_linking_response(moodle, page)
    [link] = result.created_links
    line_item = moodle.line_items[link.line_item_id]
    assert (line_item.tag, line_item.resource_id, line_item.score_maximum) == (
        "tandem-completion",
        f"tandem-programme-{programme.id}",
        100.0,
    )

    # A learner opens the new activity; their completion lands on that column, found from the launch.
    learner = moodle.add_user(given_name="Lee", family_name="Learner")
    moodle.enrol(learner, course, "learner")
    learner_client = app.test_client()
    landing(learner_client, drive_launch(learner_client, moodle, learner, course, resource_link=link))
    placement = db.session.scalars(select(Placement).where(Placement.resource_link_id == link.id)).one()
    assert placement.custom == {"tandem_programme": str(programme.id)}
    person = db.session.scalars(select(Person).where(Person.sub == learner.id)).one()
    mentor = Person(registration_id=person.registration_id, sub="mentor-1", name="Mo Mentor")
    db.session.add(mentor)
    db.session.flush()
    programme.completion_rule = {"conditions": [{"kind": "relationship_completed"}]}
    rel = Relationship(programme_id=programme.id, status="completed")
    rel.members = [
        RelationshipMember(person_id=mentor.id, role="mentor"),
        RelationshipMember(person_id=person.id, role="mentee"),
    ]
    db.session.add(rel)
    db.session.flush()
    tracker.refresh_programme(db.session, programme.id)
    db.session.commit()
    with SyncWorker(db.session(), app.extensions["tandem.settings"].secret_key) as worker:
        assert worker.run_once().sent == 1
    assert moodle.count("lineitems", method="POST") == 0, "the deep-linked column is used, none created"
    final = moodle.final_score(learner, link)
    assert final is not None and (final.score_given, final.activity_progress) == (100.0, "Completed")
    assert db.session.scalars(select(SyncJob)).one().status == "sent"


def test_refuses_a_platform_that_does_not_accept_resource_links(app, moodle) -> None:
    """The launch itself is refused (pylti1p3's deep linking validator runs first); the chooser would refuse
    too (see the unit test of ``deep_linking_settings``)."""
    teacher = moodle.add_user()
    course = moodle.add_course()
    moodle.enrol(teacher, course, "instructor")
    client = app.test_client()
    response = drive_launch(
        client,
        moodle,
        teacher,
        course,
        "deep_linking",
        deep_linking=DeepLinkingSettings(accept_types=("link",)),
    )
    assert response.status_code == 400
    assert "resource link" in response.get_data(as_text=True).lower()
    assert db.session.scalars(select(Programme)).all() == []


def test_only_trainers_add_programmes(app, moodle) -> None:
    learner = moodle.add_user()
    course = moodle.add_course()
    moodle.enrol(learner, course, "learner")
    client, path, token = deep_link(app, moodle, course, learner)
    assert client.get(path, query_string={"lt": token}).status_code == 403
    chooser_post = client.post(path, data={"lt": token, "programme_id": "new", "title": "Mine"})
    assert chooser_post.status_code in (400, 403)
    assert db.session.scalars(select(Programme)).all() == []


def test_picking_an_existing_programme_and_bad_choices(app, moodle) -> None:
    teacher = moodle.add_user()
    course = moodle.add_course()
    moodle.enrol(teacher, course, "instructor")
    client, path, token = deep_link(app, moodle, course, teacher)
    tool_course = db.session.scalars(select(Course)).one()
    existing = Programme(course_id=tool_course.id, title="Existing")
    db.session.add(existing)
    db.session.commit()
    chooser = client.get(path, query_string={"lt": token}).get_data(as_text=True)
    assert "Existing" in chooser
    # No title for a new programme: the form comes back naming the field, nothing is created.
    blank = post_form(client, chooser, programme_id="new", title="  ")
    assert blank.status_code == 422 and "Name the new programme" in blank.get_data(as_text=True)
    missing = post_form(client, chooser, programme_id="999999")
    assert missing.status_code == 404
    picked = post_form(client, chooser, programme_id=str(existing.id))
    assert picked.status_code == 200
    token_value = parse_forms(picked.get_data(as_text=True))[0].fields["JWT"]
    claims = jwt.decode(token_value, options={"verify_signature": False})
    assert claims[CONTENT_ITEMS][0]["custom"] == {"tandem_programme": str(existing.id)}
    assert "https://purl.imsglobal.org/spec/lti-dl/claim/data" not in claims, (
        "no data in the request: none echoed"
    )
    assert db.session.scalars(select(Programme)).all() == [existing]


def test_the_chooser_needs_a_deep_linking_launch(app, moodle) -> None:
    teacher = moodle.add_user()
    course = moodle.add_course()
    moodle.enrol(teacher, course, "instructor")
    client = app.test_client()
    _, token = landing(client, drive_launch(client, moodle, teacher, course))
    page = client.get("/lti/deep-linking", query_string={"lt": token})
    assert page.status_code == 400 and 'data-error-code="not_deep_linking"' in page.get_data(as_text=True)


def test_a_resource_link_without_a_programme(app, moodle) -> None:
    teacher, learner = moodle.add_user(), moodle.add_user()
    course = moodle.add_course()
    moodle.enrol(teacher, course, "instructor")
    moodle.enrol(learner, course, "learner")
    link = moodle.add_resource_link(course, "Mentoring")

    learner_client = app.test_client()
    path, learner_token = landing(
        learner_client, drive_launch(learner_client, moodle, learner, course, resource_link=link)
    )
    placement = db.session.scalars(select(Placement)).one()
    home = learner_client.get(path, query_string={"lt": learner_token}).get_data(as_text=True)
    assert "not set up yet" in home
    setup = learner_client.get(f"/placements/{placement.id}/setup", query_string={"lt": learner_token})
    assert setup.status_code == 200 and 'id="not-set-up"' in setup.get_data(as_text=True)
    refused = learner_client.post(
        f"/placements/{placement.id}/setup", data={"lt": learner_token, "title": "x"}
    )
    assert refused.status_code in (200, 400) and db.session.scalars(select(Programme)).all() == []

    trainer_client = app.test_client()
    path, token = landing(
        trainer_client, drive_launch(trainer_client, moodle, teacher, course, resource_link=link)
    )
    landing_page = trainer_client.get(path, query_string={"lt": token}).get_data(as_text=True)
    assert f"/placements/{placement.id}/setup" in landing_page
    chooser = trainer_client.get(f"/placements/{placement.id}/setup", query_string={"lt": token})
    assert chooser.status_code == 200
    done = post_form(trainer_client, chooser.get_data(as_text=True), programme_id="new", title="Peer circle")
    assert done.status_code == 303
    programme = db.session.scalars(select(Programme)).one()
    assert programme.placement_id == placement.id and programme.title == "Peer circle"
    # The launch gave the link's line item: the programme now knows its gradebook column.
    assert programme.lineitem_url == placement.lineitem_url and programme.lineitem_url
    # Now the learner's setup address leads to the programme.
    again = learner_client.get(f"/placements/{placement.id}/setup", query_string={"lt": learner_token})
    assert again.status_code == 303
