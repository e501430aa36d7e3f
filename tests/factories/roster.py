"""Factories for roster sync: jobs, and a Tandem course wired to a course of the test LTI platform."""

from __future__ import annotations

import factory

from lti_app.extensions import db
from lti_app.models.course import Course
from lti_app.models.registration import Deployment, Registration
from lti_app.models.roster import QUEUED, RosterSync
from tests.factories.core import CourseFactory, _Base
from tests.platform import TestPlatform
from tests.platform.server import Course as LmsCourse


class RosterSyncFactory(_Base):
    class Meta:
        model = RosterSync

    course = factory.SubFactory(CourseFactory)
    status = QUEUED
    trigger = "trainer"


def register_platform(platform: TestPlatform) -> Registration:
    """Register the platform's first tool configuration in Tandem, committed (as an admin would)."""
    details = platform.registration_details(platform.config())
    registration = Registration(
        name="Test LMS",
        issuer=details["issuer"],
        client_id=details["client_id"],
        auth_login_url=details["auth_login_url"],
        auth_token_url=details["auth_token_url"],
        key_set_url=details["key_set_url"],
        product_family=details["product_family"],
    )
    registration.deployments = [Deployment(deployment_id=d) for d in details["deployment_ids"]]
    db.session.add(registration)
    db.session.commit()
    return registration


def tandem_course(platform: TestPlatform, registration: Registration, lms_course: LmsCourse) -> Course:
    """The Tandem course a launch from ``lms_course`` would have made, with its NRPS memberships URL."""
    config = platform.config(registration.client_id)
    course = Course(
        registration=registration,
        context_id=lms_course.id,
        title=lms_course.title,
        label=lms_course.label,
        memberships_url=config.memberships_url.format(context_id=lms_course.id),
    )
    db.session.add(course)
    db.session.commit()
    return course
