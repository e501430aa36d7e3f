"""Shared set-up for the matching tests: a course with a trainer and an admin-led programme, and a small
browser that carries the launch and CSRF tokens like the pages do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Flask, g
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf

from lti_app.models.course import Course
from lti_app.models.person import Person
from lti_app.models.programme import Programme
from lti_app.services.access import Actor
from tests.factories.core import CourseFactory, ProgrammeFactory, actor_for, enrol
from tests.support.launch import launch_token


@dataclass
class Setting:
    course: Course
    programme: Programme
    trainer: Person
    trainer_actor: Actor


def setting(**programme_fields: Any) -> Setting:
    course = CourseFactory()
    fields = {"model": "one_to_one", "default_capacity": 1, "matching_mode": "admin_led", **programme_fields}
    programme = ProgrammeFactory(course=course, **fields)
    trainer = enrol(course, "trainer")
    return Setting(course, programme, trainer, actor_for(trainer, course, "trainer"))


def learner_actor(person: Person, course: Course) -> Actor:
    return actor_for(person, course, "participant")


class Browser:
    def __init__(self, app: Flask, client: FlaskClient, actor: Actor) -> None:
        self.client, self.token = client, launch_token(app, actor)
        with app.test_request_context("/home", query_string={"lt": self.token}):
            g.pop("csrf_token", None)
            self.csrf = generate_csrf()
            g.pop("csrf_token", None)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, query_string={"lt": self.token, **params})

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True) -> Any:
        form: dict[str, Any] = {"lt": self.token, **(data or {})}
        if csrf:
            form["csrf_token"] = self.csrf
        return self.client.post(path, data=form)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        return getattr(self.client, method)(path, headers={"Authorization": f"Bearer {self.token}"}, **kwargs)


def text(response: Any) -> str:
    body = response.get_data(as_text=True)
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
