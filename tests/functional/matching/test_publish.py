"""Publishing a proposal: relationships created through the relationship service in one transaction,
active or pending per the programme's rules, people notified; nothing half-published; reruns after
publishing leave the published pairs alone unless asked."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lti_app.errors import Conflict, RuleViolation
from lti_app.extensions import db
from lti_app.models.matching import PUBLISHED, MatchingRun, PairConstraint
from lti_app.models.notification import Notification
from lti_app.models.relationship import Relationship
from lti_app.services import matching, programmes, relationships
from lti_app.services.matching import RunParams
from tests.factories.matching import criterion, mentee, mentor
from tests.functional.matching.support import Browser, learner_actor, setting


def _relationships(session) -> list[Relationship]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(Relationship).order_by(Relationship.id)))


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model))


def _pairs_of(rels: list[Relationship]) -> set[tuple[int, int]]:
    return {(r.person_ids("mentee")[0], r.person_ids("mentor")[0]) for r in rels}


def test_admin_led_publish_starts_relationships_and_tells_people(db_session) -> None:
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    x = mentor(s.course, s.programme, skills=["python"])
    y = mentor(s.course, s.programme, skills=["design"])
    a = mentee(s.course, s.programme, skills_wanted=["python"])
    b = mentee(s.course, s.programme, skills_wanted=["design"])
    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)

    outcome = matching.publish(db_session, s.trainer_actor, s.programme.id, run.id)

    rels = _relationships(db_session)
    assert outcome.started_as == "active" and len(outcome.created) == 2
    assert _pairs_of(rels) == {(a.id, x.id), (b.id, y.id)}
    assert {r.status for r in rels} == {"active"} and {r.source for r in rels} == {"matching"}
    assert run.status == PUBLISHED and run.published_as == "active" and run.published_by_id == s.trainer.id
    assert {p.relationship_id for p in run.pairs} == {r.id for r in rels}
    kinds = {(n.person_id, n.kind) for n in db_session.scalars(select(Notification))}
    assert kinds == {(pid, "relationship.created") for pid in (a.id, b.id, x.id, y.id)}


def test_where_people_choose_too_a_match_waits_for_acceptance(db_session) -> None:
    s = setting(matching_mode="both", request_expiry_days=10)
    criterion(s.programme, "skills", "complementarity", 10)
    x = mentor(s.course, s.programme, skills=["python"])
    a = mentee(s.course, s.programme, skills_wanted=["python"])
    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)

    outcome = matching.publish(db_session, s.trainer_actor, s.programme.id, run.id)

    (rel,) = _relationships(db_session)
    assert outcome.started_as == "pending" and rel.status == "pending" and rel.expires_at is not None
    assert (rel.expires_at - rel.requested_at).days == 10
    assert {n.kind for n in db_session.scalars(select(Notification))} == {"relationship.proposed"}
    relationships.accept(db_session, learner_actor(x, s.course), rel.id)
    assert rel.status == "active"
    assert a.id in rel.person_ids("mentee")


def test_group_model_publishes_one_group_per_mentor(db_session) -> None:
    s = setting(model="group", default_capacity=3)
    criterion(s.programme, "skills", "complementarity", 10)
    g1 = mentor(s.course, s.programme, skills=["python"])
    people = [mentee(s.course, s.programme, skills_wanted=["python"]) for _ in range(3)]
    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)

    matching.publish(db_session, s.trainer_actor, s.programme.id, run.id)

    (rel,) = _relationships(db_session)
    assert rel.person_ids("mentor") == [g1.id]
    assert sorted(rel.person_ids("mentee")) == sorted(p.id for p in people)


def test_a_failure_mid_publish_leaves_nothing(app, client, monkeypatch) -> None:
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    for skill in ("a", "b", "c"):
        mentor(s.course, s.programme, skills=[skill])
        mentee(s.course, s.programme, skills_wanted=[skill])
    run = matching.run_matching(db.session, s.trainer_actor, s.programme.id)
    db.session.commit()
    real = relationships.create_relationships
    calls = []

    def failing_after_writing(*args, **kwargs):  # type: ignore[no-untyped-def]
        """Every relationship is written (in one pass), then something is refused."""
        calls.append(real(*args, **kwargs))
        raise RuleViolation("The mentor has no free place in this programme.", code="mentor_full")

    monkeypatch.setattr(relationships, "create_relationships", failing_after_writing)
    browser = Browser(app, client, s.trainer_actor)
    response = browser.api("post", f"/api/v1/programmes/{s.programme.id}/matching/runs/{run.id}/publish")

    assert response.status_code == 409 and response.json["error"] == "mentor_full"
    db.session.expire_all()
    assert len(calls) == 1 and len(calls[0]) == 3
    assert _count(db.session, Relationship) == 0 and _count(db.session, Notification) == 0
    assert db.session.get(MatchingRun, run.id).status == "proposed"
    assert all(p.relationship_id is None for p in db.session.get(MatchingRun, run.id).pairs)


def test_a_mentor_who_filled_up_since_the_run_stops_the_publish(db_session) -> None:
    s = setting(default_capacity=2)
    criterion(s.programme, "skills", "complementarity", 10)
    x = mentor(s.course, s.programme, skills=["python"])
    mentee(s.course, s.programme, skills_wanted=["python"])
    mentee(s.course, s.programme, skills_wanted=["python"])
    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)
    programmes.set_capacity_override(db_session, s.trainer_actor, s.programme.id, x.id, 1)

    with pytest.raises(RuleViolation) as caught:
        matching.publish(db_session, s.trainer_actor, s.programme.id, run.id)
    assert caught.value.code == "mentor_full"


def test_people_paired_since_the_run_make_it_stale(db_session) -> None:
    s = setting(default_capacity=2)
    criterion(s.programme, "skills", "complementarity", 10)
    x = mentor(s.course, s.programme, skills=["python"])
    y = mentor(s.course, s.programme, skills=["python"])
    a = mentee(s.course, s.programme, skills_wanted=["python"])
    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)
    chosen = matching.view_run(db_session, s.trainer_actor, s.programme.id, run.id).pairs[0].pair.mentor_id
    other = y.id if chosen == x.id else x.id
    relationships.create_relationship(
        db_session, s.trainer_actor, s.programme.id, mentor_ids=[other], mentee_ids=[a.id]
    )

    with pytest.raises(Conflict) as caught:
        matching.publish(db_session, s.trainer_actor, s.programme.id, run.id)
    assert caught.value.code == "stale_run"


def test_only_the_current_proposal_can_be_published(db_session) -> None:
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    mentor(s.course, s.programme, skills=["python"])
    mentee(s.course, s.programme, skills_wanted=["python"])
    first = matching.run_matching(db_session, s.trainer_actor, s.programme.id)
    second = matching.rerun(db_session, s.trainer_actor, s.programme.id, first.id)
    with pytest.raises(Conflict):
        matching.publish(db_session, s.trainer_actor, s.programme.id, first.id)  # discarded by the rerun
    matching.publish(db_session, s.trainer_actor, s.programme.id, second.id)
    with pytest.raises(Conflict):
        matching.publish(db_session, s.trainer_actor, s.programme.id, second.id)
    assert _count(db_session, Relationship) == 1


def test_rerun_after_publish_touches_only_the_unmatched(db_session) -> None:
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    x = mentor(s.course, s.programme, skills=["python"])
    a = mentee(s.course, s.programme, skills_wanted=["python"])
    b = mentee(s.course, s.programme, skills_wanted=["python"])
    first = matching.run_matching(db_session, s.trainer_actor, s.programme.id)
    assert first.matched_count == 1 and first.unmatched_count == 1
    matching.publish(db_session, s.trainer_actor, s.programme.id, first.id)
    (published,) = _relationships(db_session)
    left_out = b.id if a.id in published.person_ids("mentee") else a.id
    y = mentor(s.course, s.programme, skills=["python", "sql"])  # a newcomer, better than x for anyone

    second = matching.run_matching(db_session, s.trainer_actor, s.programme.id)
    view = matching.view_run(db_session, s.trainer_actor, s.programme.id, second.id)
    assert second.mentee_count == 1
    assert [(r.pair.mentee_id, r.pair.mentor_id) for r in view.pairs] == [(left_out, y.id)]
    matching.publish(db_session, s.trainer_actor, s.programme.id, second.id)

    rels = _relationships(db_session)
    assert rels[0].id == published.id and rels[0].status == "active"
    assert rels[0].person_ids("mentor") == [x.id]
    assert len(rels) == 2


def test_rerun_over_everyone_replaces_unanswered_matches_only_where_they_change(db_session) -> None:
    s = setting(matching_mode="both", default_capacity=1)
    skills = criterion(s.programme, "skills", "complementarity", 10)
    x = mentor(s.course, s.programme, skills=["python"])
    y = mentor(s.course, s.programme, skills=["design"])
    a = mentee(s.course, s.programme, skills_wanted=["python"])
    b = mentee(s.course, s.programme, skills_wanted=["design"])
    c = mentee(s.course, s.programme, skills_wanted=["python", "rust"])  # x fits a better: c waits
    first = matching.run_matching(db_session, s.trainer_actor, s.programme.id)
    matching.publish(db_session, s.trainer_actor, s.programme.id, first.id)
    by_mentee = {r.person_ids("mentee")[0]: r for r in _relationships(db_session)}
    relationships.accept(db_session, learner_actor(y, s.course), by_mentee[b.id].id)  # b and y have started
    matching.set_constraint(db_session, s.trainer_actor, s.programme.id, a.id, x.id, "forbidden")
    assert skills.weight == 10

    default = matching.run_matching(db_session, s.trainer_actor, s.programme.id)
    assert default.mentee_count == 1  # only the mentee nobody proposed anything to yet
    everyone = matching.run_matching(db_session, s.trainer_actor, s.programme.id, RunParams(scope="all"))
    assert everyone.mentee_count == 3 - 1  # b has started with y: never re-matched
    outcome = matching.publish(db_session, s.trainer_actor, s.programme.id, everyone.id)

    rels = {r.id: r for r in _relationships(db_session)}
    open_pairs = _pairs_of([r for r in rels.values() if r.status in ("pending", "active")])
    assert (b.id, y.id) in open_pairs
    assert (a.id, x.id) not in open_pairs  # banned now: the unanswered match was withdrawn
    assert rels[by_mentee[a.id].id].status == "withdrawn"
    assert outcome.retracted == 1
    assert (c.id, x.id) in open_pairs
    retracted = {
        n.person_id
        for n in db_session.scalars(select(Notification).where(Notification.kind == "relationship.retracted"))
    }
    assert retracted == {a.id, x.id}


def test_an_unchanged_unanswered_match_is_kept(db_session) -> None:
    s = setting(matching_mode="both")
    criterion(s.programme, "skills", "complementarity", 10)
    x = mentor(s.course, s.programme, skills=["python"])
    a = mentee(s.course, s.programme, skills_wanted=["python"])
    first = matching.run_matching(db_session, s.trainer_actor, s.programme.id)
    matching.publish(db_session, s.trainer_actor, s.programme.id, first.id)
    (rel,) = _relationships(db_session)

    again = matching.run_matching(db_session, s.trainer_actor, s.programme.id, RunParams(scope="all"))
    outcome = matching.publish(db_session, s.trainer_actor, s.programme.id, again.id)

    assert (outcome.kept, outcome.retracted, outcome.created) == (1, 0, [])
    assert _relationships(db_session) == [rel] and rel.status == "pending"
    assert again.pairs[0].relationship_id == rel.id
    assert (a.id, x.id) in _pairs_of([rel])


def test_pins_are_spent_by_publishing(db_session) -> None:
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    x = mentor(s.course, s.programme, skills=[])
    mentor(s.course, s.programme, skills=["python"])
    a = mentee(s.course, s.programme, skills_wanted=["python"])
    banned = mentee(s.course, s.programme, skills_wanted=["python"])
    matching.set_constraint(db_session, s.trainer_actor, s.programme.id, a.id, x.id, "fixed")
    matching.set_constraint(db_session, s.trainer_actor, s.programme.id, banned.id, x.id, "forbidden")
    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)

    matching.publish(db_session, s.trainer_actor, s.programme.id, run.id)

    kinds = list(db_session.scalars(select(PairConstraint.kind)))
    assert kinds == ["forbidden"]  # bans stay for good


def test_someone_left_unmatched_may_find_a_mentor_meanwhile(db_session) -> None:
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    x = mentor(s.course, s.programme, skills=["python"])
    a = mentee(s.course, s.programme, skills_wanted=["python"])
    b = mentee(s.course, s.programme, skills_wanted=["python", "rust"])  # x fits a better: b is left out
    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)
    y = mentor(s.course, s.programme, skills=["rust"])
    relationships.create_relationship(
        db_session, s.trainer_actor, s.programme.id, mentor_ids=[y.id], mentee_ids=[b.id]
    )

    outcome = matching.publish(db_session, s.trainer_actor, s.programme.id, run.id)

    assert [(r.person_ids("mentee"), r.person_ids("mentor")) for r in outcome.created] == [([a.id], [x.id])]
    assert len(_relationships(db_session)) == 2
