"""The demo LMS's persistence: its key, course, people, links, gradebook, and its registration in Tandem.

Everything the protocol needs (claims, signing, token and deep linking checks) comes from the platform core
(``lti_app.demo_lms.platform`` and friends); this module only keeps the demo's data and turns rows into the
core's value objects. No Flask here, so ``tandem demo`` and the views share it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from config.settings import Settings
from lti_app.crypto import SecretBox
from lti_app.models.demo import DemoCourse, DemoLineItem, DemoLink, DemoPerson, DemoPlatform, DemoScore
from lti_app.models.registration import Registration
from lti_app.services.registrations import DEMO, PlatformDetails, demo_issuer, tool_urls, upsert_registration

from . import services as core_services
from . import vocab
from .platform import Course, PlatformConfig, PlatformKey, ResourceLink, User, role_uris

CLIENT_ID = "tandem-demo"
DEPLOYMENT_ID = "1"
PLATFORM_NAME = "Tandem demo LMS"

# (user id, given name, family name, LMS role set, what the demo page calls them). The first four are the
# people the demo's story is told through; the others fill the course so searching, requests and the
# overviews have something to show (``seed.py`` gives them profiles and a relationship in Tandem). They are
# course members like anyone else, so the roster the demo serves (NRPS) lists them and a roster sync keeps
# them.
PEOPLE = (
    ("demo-learner", "Lena", "Okafor", "learner", "Learner"),
    ("demo-mentor", "Marco", "Rossi", "learner", "Mentor"),
    ("demo-trainer", "Tara", "Nguyen", "instructor", "Trainer"),
    ("demo-admin", "Ada", "Lindqvist", "administrator", "Admin"),
    ("demo-jonas", "Jonas", "Weber", "learner", "Mentee"),
    ("demo-priya", "Priya", "Shah", "learner", "Learner"),
    ("demo-aisha", "Aisha", "Karim", "learner", "Mentor"),
    ("demo-diego", "Diego", "Ramos", "learner", "Mentor"),
)
COURSE = ("demo-course-1", "MENTOR101", "Mentoring Foundations")
FIRST_LINK = ("demo-link-1", "Mentoring programme", "Find a mentor, keep a diary, grow together.")
COMPLETION_COLUMN = ("Mentoring completion", 1.0)


@dataclass(frozen=True)
class DemoUrls:
    """The demo LMS's own addresses (the platform side), under ``<base_url>/demo``."""

    base_url: str

    @property
    def issuer(self) -> str:
        return demo_issuer(self.base_url)

    def url(self, path: str = "") -> str:
        return self.issuer + path

    @property
    def auth(self) -> str:
        return self.url("/auth")

    @property
    def token(self) -> str:
        return self.url("/token")

    @property
    def jwks(self) -> str:
        return self.url("/jwks")

    @property
    def deep_link_return(self) -> str:
        return self.url("/deep_link_return")


@dataclass(frozen=True)
class DemoSetup:
    platform: DemoPlatform
    registration: Registration
    created: bool


def load_platform(session: Session, settings: Settings) -> DemoPlatform | None:
    """The demo LMS of this base URL, with its course and people (three queries at most)."""
    return session.scalar(
        select(DemoPlatform)
        .where(DemoPlatform.issuer == demo_issuer(settings.base_url))
        .options(
            selectinload(DemoPlatform.people),
            selectinload(DemoPlatform.courses).selectinload(DemoCourse.links),
        )
    )


def ensure_demo(session: Session, settings: Settings) -> DemoSetup:
    """Create (once) the demo LMS, its key, course and people, and register it with Tandem as any platform
    is registered. Idempotent: running it again changes nothing but a moved base URL's registration."""
    urls = DemoUrls(settings.base_url)
    platform = load_platform(session, settings)
    created = platform is None
    if platform is None:
        key = PlatformKey.generate()
        platform = DemoPlatform(
            issuer=urls.issuer, client_id=CLIENT_ID, deployment_id=DEPLOYMENT_ID, kid=key.kid,
            private_key_sealed=SecretBox(settings.secret_key).seal(key.private_pem),
        )
        session.add(platform)
        session.flush()
    _seed(session, platform)
    registration, _ = upsert_registration(
        session,
        PlatformDetails(
            issuer=urls.issuer, client_id=platform.client_id, auth_login_url=urls.auth,
            auth_token_url=urls.token, key_set_url=urls.jwks, name=PLATFORM_NAME,
            product_family=vocab.PRODUCT_MOODLE,
        ),
        deployment_ids=[platform.deployment_id],
        source=DEMO,
    )
    return DemoSetup(platform, registration, created)


def _seed(session: Session, platform: DemoPlatform) -> None:
    known = {p.user_id for p in platform.people}
    for user_id, given, family, role, label in PEOPLE:
        if user_id not in known:
            platform.people.append(DemoPerson(
                user_id=user_id, given_name=given, family_name=family, role=role, label=label,
                email=f"{given.lower()}.{family.lower()}@demo.example",
            ))
    if not platform.courses:
        context_id, label, title = COURSE
        course = DemoCourse(context_id=context_id, label=label, title=title)
        platform.courses.append(course)
        link_id, link_title, text = FIRST_LINK
        link = DemoLink(resource_link_id=link_id, title=link_title, text=text, custom={})
        course.links.append(link)
        session.flush()
        column, maximum = COMPLETION_COLUMN
        session.add(DemoLineItem(course_id=course.id, link_id=link.id, label=column, score_maximum=maximum))
    session.flush()


# --------------------------------------------------------------------------------- rows → core objects


def platform_key(platform: DemoPlatform, box: SecretBox) -> PlatformKey:
    return PlatformKey.from_pem(box.open(platform.private_key_sealed), kid=platform.kid)


def platform_config(platform: DemoPlatform, settings: Settings) -> PlatformConfig:
    """The demo's view of its one tool registration, Moodle-shaped, with every service it offers."""
    urls, tool = DemoUrls(settings.base_url), tool_urls(settings.base_url)
    return PlatformConfig(
        issuer=platform.issuer,
        client_id=platform.client_id,
        deployment_id=platform.deployment_id,
        auth_url=urls.auth,
        token_url=urls.token,
        jwks_url=urls.jwks,
        tool_login_url=tool.login,
        tool_launch_url=tool.launch,
        tool_jwks_url=tool.jwks,
        tool_deep_link_url=tool.deep_link,
        redirect_uris=tool.redirect_uris,
        product_family=vocab.PRODUCT_MOODLE,
        tool_name="Tandem",
        tool_description="Mentoring programmes",
        deep_link_return_url=urls.deep_link_return,
        return_url=urls.url("/"),
        memberships_url=urls.url("/nrps/{context_id}/memberships"),
        lineitems_url=urls.url("/ags/{context_id}/lineitems"),
        lineitem_url=urls.url("/ags/{context_id}/lineitems/{lineitem_id}/lineitem"),
        platform_name=PLATFORM_NAME,
        platform_description="The demo LMS built into Tandem (development only)",
    )


def to_user(person: DemoPerson) -> User:
    return User(
        id=person.user_id, given_name=person.given_name, family_name=person.family_name, email=person.email,
        username=person.user_id, lis_person_sourcedid=person.user_id,
    )


def to_course(course: DemoCourse) -> Course:
    return Course(id=course.context_id, label=course.label, title=course.title)


def to_link(link: DemoLink) -> ResourceLink:
    line_item_id = str(link.line_items[0].id) if link.line_items else None
    return ResourceLink(id=link.resource_link_id, title=link.title, description=link.text,
                        line_item_id=line_item_id)


def find_person(platform: DemoPlatform, user_id: str) -> DemoPerson | None:
    return next((p for p in platform.people if p.user_id == user_id), None)


def find_course(platform: DemoPlatform, context_id: str) -> DemoCourse | None:
    return next((c for c in platform.courses if c.context_id == context_id), None)


def find_link(course: DemoCourse, resource_link_id: str) -> DemoLink | None:
    return next((link for link in course.links if link.resource_link_id == resource_link_id), None)


# ------------------------------------------------------------------------------------------ deep linking


def add_deep_linked_items(
    session: Session, course: DemoCourse, items: Iterable[Mapping[str, Any]]
) -> list[DemoLink]:
    """Every ``ltiResourceLink`` content item becomes a link in the course, with its gradebook column when
    it asks for one (Deep Linking 2.0 §3.4.1 ``lineItem``). Other item types are not placeable here."""
    created: list[DemoLink] = []
    for item in items:
        if item.get("type") != "ltiResourceLink":
            continue
        raw_custom = item.get("custom")
        custom: Mapping[str, Any] = raw_custom if isinstance(raw_custom, dict) else {}
        link = DemoLink(
            resource_link_id=f"demo-link-{secrets.token_hex(6)}",
            title=str(item.get("title") or "Tandem")[:500],
            text=str(item.get("text") or ""),
            custom={str(k): str(v) for k, v in custom.items()},
        )
        course.links.append(link)
        session.flush()
        line_item = item.get("lineItem")
        if isinstance(line_item, dict):
            maximum = line_item.get("scoreMaximum", 100)
            if isinstance(maximum, bool) or not isinstance(maximum, int | float) or maximum <= 0:
                maximum = 100
            session.add(DemoLineItem(
                course_id=course.id, link_id=link.id, label=str(line_item.get("label") or link.title)[:500],
                score_maximum=float(maximum), resource_id=str(line_item.get("resourceId") or "")[:255],
                tag=str(line_item.get("tag") or "")[:255],
            ))
        created.append(link)
    session.flush()
    return created


# ----------------------------------------------------------------------------------------- gradebook


def line_items(session: Session, course: DemoCourse) -> list[DemoLineItem]:
    return list(session.scalars(
        select(DemoLineItem).where(DemoLineItem.course_id == course.id)
        .options(selectinload(DemoLineItem.link), selectinload(DemoLineItem.scores))
        .order_by(DemoLineItem.id)
    ))


def line_item(session: Session, course: DemoCourse, item_id: str) -> DemoLineItem | None:
    if not item_id.isdigit():
        return None
    found = session.get(DemoLineItem, int(item_id))
    return found if found is not None and found.course_id == course.id else None


def to_line_item(item: DemoLineItem, course: DemoCourse) -> core_services.LineItem:
    return core_services.LineItem(
        id=str(item.id), context_id=course.context_id, label=item.label, score_maximum=item.score_maximum,
        resource_link_id=item.link.resource_link_id if item.link else "", resource_id=item.resource_id,
        tag=item.tag,
    )


def create_line_item(session: Session, course: DemoCourse, fields: Mapping[str, Any]) -> DemoLineItem:
    """A column the tool creates through AGS (fields from ``services.parse_lineitem``)."""
    link = find_link(course, fields["resource_link_id"]) if fields.get("resource_link_id") else None
    item = DemoLineItem(
        course_id=course.id, link_id=link.id if link else None, label=fields["label"][:500],
        score_maximum=fields["score_maximum"], resource_id=fields["resource_id"][:255],
        tag=fields["tag"][:255],
    )
    session.add(item)
    session.flush()
    return item


def record_score(session: Session, item: DemoLineItem, score: core_services.Score) -> DemoScore:
    """Keep the latest score per person (AGS 2.0 §3.4: an older timestamp must not win)."""
    row = session.scalar(
        select(DemoScore).where(DemoScore.line_item_id == item.id, DemoScore.user_id == score.user_id)
    )
    if row is not None and row.timestamp > score.at:
        return row
    if row is None:
        row = DemoScore(line_item_id=item.id, user_id=score.user_id)
        session.add(row)
    row.score_given = score.score_given
    row.score_maximum = score.score_maximum
    row.activity_progress = score.activity_progress
    row.grading_progress = score.grading_progress
    row.comment = score.comment
    row.timestamp = score.at
    session.flush()
    return row


def members(platform: DemoPlatform) -> list[core_services.Member]:
    """Everyone is enrolled in the one demo course."""
    return [
        core_services.Member(to_user(p), tuple(role_uris(p.role, vocab.PRODUCT_MOODLE)))
        for p in platform.people
    ]


def score_label(score: DemoScore) -> str:
    """How the demo gradebook shows a score: Moodle keeps a grade only when it is FullyGraded."""
    if score.score_given is not None and score.grading_progress == "FullyGraded" and score.score_maximum:
        return f"{score.score_given:g} / {score.score_maximum:g}"
    return score.activity_progress


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""
