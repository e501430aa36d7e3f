"""``tandem matching run`` and ``tandem matching publish``: the same service, rules and transaction as the
pages, for proposals too large to publish within a web request."""

from __future__ import annotations

from sqlalchemy import func, select

from lti_app.commands.matching import group
from lti_app.extensions import db
from lti_app.models.matching import MatchingRun
from lti_app.models.relationship import Relationship
from tests.factories.matching import criterion, mentee, mentor
from tests.functional.matching.support import setting


def test_run_then_publish_from_the_command_line(app) -> None:
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    mentor(s.course, s.programme, skills=["python"])
    learner = mentee(s.course, s.programme, skills_wanted=["python"])
    db.session.commit()
    runner = app.test_cli_runner()

    refused = runner.invoke(group, ["run", str(s.programme.id), "--as", str(learner.id)])
    assert refused.exit_code != 0 and "Only trainers" in refused.output
    ran = runner.invoke(group, ["run", str(s.programme.id), "--as", str(s.trainer.id), "--min-score", "10"])
    assert ran.exit_code == 0, ran.output
    assert "1 pairs, 0 unmatched" in ran.output and "proven optimal" in ran.output
    run_id = db.session.scalar(select(MatchingRun.id))

    published = runner.invoke(group, ["publish", str(run_id)])
    assert published.exit_code == 0, published.output
    assert "1 relationships created (active)" in published.output
    assert db.session.scalar(select(func.count()).select_from(Relationship)) == 1
    again = runner.invoke(group, ["publish", str(run_id)])
    assert again.exit_code != 0 and "published" in again.output
