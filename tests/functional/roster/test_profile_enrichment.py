"""Profile enrichment from Moodle web services during roster sync: one core_user_get_users_by_field call
per batch, mapped fields filled, and nothing the person typed ever overwritten."""

from __future__ import annotations

from sqlalchemy import select

from lti_app.extensions import db
from lti_app.models.person import Person
from lti_app.models.profile import Profile
from lti_app.services.launch import PREFILL_KEY

USERS_BY_FIELD = "core_user_get_users_by_field"


def profile_of(sub: str) -> Profile | None:
    db.session.expire_all()
    return db.session.scalars(select(Profile).join(Person).where(Person.sub == sub)).one_or_none()


def skills(value: str) -> list[dict[str, str]]:
    return [{"type": "text", "shortname": "skills", "name": "Skills", "value": value, "displayvalue": value}]


def test_mapped_moodle_fields_fill_profiles_in_one_call_per_batch(
    platform, lms_course, with_moodle_ws, sync
) -> None:
    people = [platform.add_user() for _ in range(5)]
    for person in people:
        platform.enrol(person, lms_course, "learner")
    sam = people[0]
    with_moodle_ws.user(
        sam.id,
        department="Engineering",
        interests="Python, Data science",
        customfields=skills("Public speaking; Coaching"),
    )
    with_moodle_ws.user(people[1].id, department="Sales")

    summary = sync(batch_size=2)

    calls = with_moodle_ws.ws_calls(USERS_BY_FIELD)
    assert len(calls) == 3  # 5 members in batches of 2
    assert calls[0]["field"] == "id" and {calls[0]["values[0]"], calls[0]["values[1]"]} == {
        sam.id,
        people[1].id,
    }
    assert summary.enriched == 2
    profile = profile_of(sam.id)
    assert profile is not None
    assert profile.department == "Engineering"
    assert profile.interests == ["python", "data science"]
    assert profile.skills == ["public speaking", "coaching"]
    assert profile.extra[PREFILL_KEY]["department"] == "Engineering"
    assert profile_of(people[1].id).department == "Sales"
    assert profile_of(people[2].id) is None  # nothing to offer: no empty profile made


def test_what_a_person_typed_is_never_overwritten(platform, lms_course, with_moodle_ws, sync) -> None:
    sam = platform.add_user()
    platform.enrol(sam, lms_course, "learner")
    with_moodle_ws.user(sam.id, department="Engineering", interests="Python", customfields=skills("Coaching"))
    sync()
    profile = profile_of(sam.id)
    profile.department = "Research"  # Sam changed it in Tandem
    db.session.commit()

    with_moodle_ws.user(
        sam.id, department="Marketing", interests="Python, Rust", customfields=skills("Coaching")
    )
    summary = sync()

    profile = profile_of(sam.id)
    assert profile.department == "Research"
    assert profile.interests == ["python", "rust"]  # still the LMS's: it follows the LMS
    assert profile.skills == ["coaching"]
    assert summary.enriched == 1


def test_fields_typed_before_the_first_sync_stay_and_empty_ones_are_filled(
    platform, lms_course, with_moodle_ws, sync
) -> None:
    sam = platform.add_user()
    platform.enrol(sam, lms_course, "learner")
    sync()
    person = db.session.scalars(select(Person).where(Person.sub == sam.id)).one()
    db.session.add(Profile(person_id=person.id, department="My own team", skills=["listening"]))
    db.session.commit()
    with_moodle_ws.user(sam.id, department="Engineering", interests="Python", customfields=skills("Coaching"))

    sync()

    profile = profile_of(sam.id)
    assert (profile.department, profile.skills, profile.interests) == (
        "My own team",
        ["listening"],
        ["python"],
    )


def test_an_unchanged_moodle_profile_writes_nothing(platform, lms_course, with_moodle_ws, sync) -> None:
    sam = platform.add_user()
    platform.enrol(sam, lms_course, "learner")
    with_moodle_ws.user(sam.id, department="Engineering")
    assert sync().enriched == 1

    assert sync().enriched == 0


def test_a_moodle_failure_leaves_a_notice_and_the_roster_synced(
    platform, lms_course, with_moodle_ws, sync
) -> None:
    people = [platform.add_user() for _ in range(4)]
    for person in people:
        platform.enrol(person, lms_course, "learner")
    with_moodle_ws.failure = {
        "exception": "webservice_access_exception",
        "errorcode": "accessexception",
        "message": "Access control exception",
    }

    summary = sync(batch_size=2)

    assert summary.added == 4 and summary.enriched == 0
    assert summary.notice is not None and "accessexception" in summary.notice
    assert len(with_moodle_ws.ws_calls(USERS_BY_FIELD)) == 1  # not asked again for the second batch


def test_without_moodle_web_services_nothing_is_asked(platform, lms_course, moodle_ws, sync) -> None:
    sam = platform.add_user()
    platform.enrol(sam, lms_course, "learner")

    summary = sync()

    assert summary.enriched == 0 and summary.notice is None
    assert moodle_ws.calls == []
