"""Dynamic registration against the test LTI platform (Moodle- and Canvas-shaped), then a real launch
through the client id it issued: the registration stored everything a launch needs."""

from __future__ import annotations

import pytest

from lti_app.models.registration import Registration
from tests.platform import drive_launch
from tests.platform.drive import drive_dynamic_registration


@pytest.mark.parametrize("platform_fixture", ["lti_platform", "lti_canvas_platform"])
def test_register_then_launch(request, client, db_session, platform_fixture) -> None:  # type: ignore[no-untyped-def]
    platform = request.getfixturevalue(platform_fixture)
    reply, issued = drive_dynamic_registration(client, platform, tool_base_url="http://tool.test")
    assert reply.status_code == 200, reply.data[:800]
    assert issued is not None, "the platform received the tool's registration"

    registration = db_session.query(Registration).one()
    assert registration.issuer == platform.issuer
    assert registration.client_id == issued.client_id
    assert registration.key_set_url == platform.jwks_url
    assert registration.source == "dynamic"
    assert [d.deployment_id for d in registration.deployments] == [issued.deployment_id]

    learner = platform.add_user(given_name="Rae", family_name="Learner")
    course = platform.add_course(title="Coaching")
    platform.enrol(learner, course, "learner")
    response = drive_launch(client, platform, learner, course, client_id=issued.client_id)
    assert response.status_code in (302, 303) and "lt=" in response.headers["Location"]
