"""The worker commands: closing due cycles and sending the outbox (SMTP replaced by a local fake)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lti_app.commands.feedback import feedback
from lti_app.models.feedback import CYCLE_CLOSED, MAIL_PENDING, MAIL_SENT, FeedbackCycle, FeedbackMail
from lti_app.services.feedback import nominations
from tests.factories.feedback import course_with_subject, start_cycle


def test_close_due(app, db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    cycle.opens_at = cycle.opens_at - timedelta(days=30)
    cycle.closes_at = cycle.opens_at + timedelta(days=1)
    db_session.commit()
    result = app.test_cli_runner().invoke(feedback, ["close-due"])
    assert result.exit_code == 0 and "closed 1" in result.output
    db_session.expire_all()
    assert db_session.get(FeedbackCycle, cycle.id).status == CYCLE_CLOSED


def test_send_mail_waits_without_smtp_and_sends_with_it(app, db_session, monkeypatch) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    nominations.nominate(db_session, setup.trainer_actor, cycle.id, group="other", email="ext@example.org")
    db_session.commit()
    runner = app.test_cli_runner()
    waiting = runner.invoke(feedback, ["send-mail"])
    assert waiting.exit_code == 0 and "1 feedback email(s) wait" in waiting.output
    assert db_session.scalars(select(FeedbackMail.status)).one() == MAIL_PENDING

    sent = []

    class FakeSmtp:
        def __init__(self, server) -> None:  # type: ignore[no-untyped-def]
            self.server = server

        def __enter__(self):  # type: ignore[no-untyped-def]
            return sent.append

        def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
            return None

    import lti_app.tasks.mail as transport

    monkeypatch.setattr(transport, "SmtpSender", FakeSmtp)
    settings = app.extensions["tandem.settings"]
    monkeypatch.setitem(
        app.extensions, "tandem.settings", settings.with_overrides(smtp_url="smtp://127.0.0.1:2525")
    )
    result = runner.invoke(feedback, ["send-mail"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output and len(sent) == 1
    assert "http://tool.test/feedback/answer/" in sent[0].get_content()
    db_session.expire_all()
    assert db_session.scalars(select(FeedbackMail.status)).one() == MAIL_SENT
