"""``tandem demo`` and the demo LMS's registration: idempotent, persisted, refused in production."""

from __future__ import annotations

from lti_app import create_app
from lti_app.cli import main
from lti_app.demo_lms import store
from lti_app.extensions import db
from lti_app.models.demo import DemoPerson, DemoPlatform
from lti_app.models.person import Person
from lti_app.models.programme import Programme
from lti_app.models.registration import Deployment, Registration
from tests.conftest import make_settings

from .conftest import ISSUER


def test_ensure_demo_registers_the_platform_once(app, db_session) -> None:
    first = store.ensure_demo(db_session, app.extensions["tandem.settings"])
    second = store.ensure_demo(db_session, app.extensions["tandem.settings"])
    assert first.created and not second.created
    assert db_session.query(DemoPlatform).count() == 1 and db_session.query(Registration).count() == 1
    registration = db_session.query(Registration).one()
    assert registration.issuer == ISSUER and registration.source == "demo"
    assert registration.auth_login_url == f"{ISSUER}/auth" and registration.key_set_url == f"{ISSUER}/jwks"
    assert [d.deployment_id for d in db_session.query(Deployment)] == ["1"]
    people = {p.user_id: p.label for p in db_session.query(DemoPerson)}
    assert people == {user_id: label for user_id, _, _, _, label in store.PEOPLE}
    assert [people[u] for u in ("demo-learner", "demo-mentor", "demo-trainer", "demo-admin")] == [
        "Learner", "Mentor", "Trainer", "Admin"]
    assert second.platform.kid == first.platform.kid, "the demo keeps its key across runs"
    assert "BEGIN" not in first.platform.private_key_sealed


def test_tandem_demo_command_is_idempotent_and_prints_the_url(app, db_session) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(main, ["demo"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert f"Open {ISSUER}/" in first.output and "Set up" in first.output
    again = runner.invoke(main, ["demo"], catch_exceptions=False)
    assert again.exit_code == 0 and "Ready:" in again.output
    assert db_session.query(Registration).count() == 1


def test_the_demo_is_refused_and_unrouted_when_not_allowed(app, database_url, tmp_path) -> None:
    locked = create_app(make_settings(database_url, tmp_path, demo_enabled=False))
    client = locked.test_client()
    for path in ("/demo/", "/demo/jwks", "/demo/launch?user=demo-learner&link=demo-link-1"):
        assert client.get(path).status_code == 404
    assert client.post("/demo/token").status_code == 404
    with locked.app_context():
        result = locked.test_cli_runner().invoke(main, ["demo"])
        assert result.exit_code != 0 and "disabled" in result.output
        assert db.session.query(DemoPlatform).count() == 0
        assert db.session.query(Person).count() == 0 and db.session.query(Programme).count() == 0
        db.session.remove()
        db.engine.dispose()


def test_the_home_page_lists_the_course_people_and_launch_links(client, demo) -> None:
    page = client.get("/demo/").get_data(as_text=True)
    assert "Mentoring Foundations" in page
    for user_id in ("demo-learner", "demo-mentor", "demo-trainer", "demo-admin"):
        assert f'data-person="{user_id}"' in page
    assert "/demo/launch?user=demo-learner&amp;link=demo-link-1" in page
    assert "kind=deep_linking" in page


def test_the_home_page_explains_how_to_set_up(client) -> None:
    response = client.get("/demo/")
    assert response.status_code == 404 and b"tandem demo" in response.data
