"""Notifications in the tool and by email: written with the change, sent later by the worker, never inside
the web request; each person can turn email off; addresses are masked in logs."""

from __future__ import annotations

import logging
import smtplib
import socket
import threading
from email import message_from_bytes
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from lti_app.commands.mail import mail
from lti_app.extensions import db
from lti_app.models.notification import Notification
from lti_app.services import notifications, relationships
from lti_app.tasks.mail import MAX_ATTEMPTS, send_pending
from tests.factories.core import ProgrammeFactory, actor_for
from tests.factories.mentoring import enrol, mentee, mentor
from tests.functional.mentoring.pages import Browser


def _settings(app, **changes):  # type: ignore[no-untyped-def]
    return app.extensions["tandem.settings"].with_overrides(**changes)


@pytest.fixture()
def asked(app, db_session):  # type: ignore[no-untyped-def]
    """Bob asked Ada: one notification for Ada, with an email to send."""
    programme = ProgrammeFactory(title="Career mentoring")
    ada, bob = mentor(programme), mentee(programme)
    rel = relationships.request_mentoring(db_session, actor_for(bob, programme.course), programme.id, ada.id)
    db_session.commit()
    return programme, ada, bob, rel


def test_a_request_notifies_in_the_tool_and_queues_an_email(app, db_session, asked) -> None:
    programme, ada, bob, rel = asked
    note = db_session.scalar(select(Notification).where(Notification.person_id == ada.id))
    assert note.email_status == "pending" and note.read_at is None
    assert (
        notifications.render(note) == f"{bob.display_name} asked you to be their mentor in Career mentoring."
    )
    assert note.link_endpoint == "pages.relationship" and note.link_values == {"relationship_id": rel.id}
    assert notifications.unread_count(db_session, actor_for(ada, programme.course)) == 1


def test_the_worker_sends_pending_emails_once(app, db_session, asked) -> None:
    _, ada, bob, _ = asked
    outbox: list[EmailMessage] = []
    run = send_pending(db_session, _settings(app, smtp_url="smtp://mail.test"), sender=outbox.append)
    db_session.commit()
    assert run.sent == 1 and len(outbox) == 1
    message = outbox[0]
    assert message["To"] == ada.email and message["Subject"] == "Tandem: New mentoring request"
    assert bob.display_name in message.get_content() and "turn email off" in message.get_content()
    again = send_pending(db_session, _settings(app), sender=outbox.append)
    assert again.handled == 0 and len(outbox) == 1


def test_people_who_turned_email_off_get_none(app, client, db_session, asked) -> None:
    programme, ada, _, _ = asked
    page = Browser(app, client, actor_for(ada, programme.course))
    assert page.post("/notifications/email", {"email_notifications": "0"}).status_code == 303
    note = db_session.scalar(select(Notification).where(Notification.person_id == ada.id))
    db_session.refresh(note)
    assert note.email_status == "skipped"
    later = notifications.notify(db_session, [ada.id], "request.expired", course_id=None, params={})
    assert later[0].email_status == "skipped"
    outbox: list[EmailMessage] = []
    assert send_pending(db_session, _settings(app), sender=outbox.append).handled == 0 and outbox == []


def test_without_smtp_development_logs_emails_with_masked_addresses(app, db_session, asked, caplog) -> None:
    _, ada, _, _ = asked
    with caplog.at_level(logging.INFO, logger="tandem.mail"):
        run = send_pending(db_session, _settings(app, smtp_url=None, env="development"))
    assert run.logged == 1
    logged = caplog.text
    assert "New mentoring request" in logged and ada.email not in logged
    assert f"{ada.email[0]}***@example.test" in logged


def test_without_smtp_production_holds_emails(app, db_session, asked) -> None:
    held = _settings(app, smtp_url=None, env="production")
    run = send_pending(db_session, held)
    assert run.held == 1 and db_session.scalar(select(Notification.email_status)) == "pending"


def test_failures_are_retried_then_given_up(app, db_session, asked) -> None:
    def refuse(message: EmailMessage) -> None:
        raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"no such user")})

    for attempt in range(1, MAX_ATTEMPTS + 1):
        run = send_pending(db_session, _settings(app), sender=refuse)
        note = db_session.scalar(select(Notification))
        assert note.email_attempts == attempt
    assert run.failed == 1 and note.email_status == "failed"
    assert note.email_error == "SMTPRecipientsRefused"


class _LoopbackSmtp:
    """Just enough SMTP on 127.0.0.1 to receive messages: EHLO, MAIL, RCPT, DATA, QUIT."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        stream = conn.makefile("rb")
        conn.sendall(b"220 loopback ESMTP\r\n")
        while line := stream.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250 loopback\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                body = b""
                while (chunk := stream.readline()) != b".\r\n":
                    body += chunk
                self.received.append(body)
                conn.sendall(b"250 queued\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                break
            else:
                conn.sendall(b"250 ok\r\n")
        conn.close()
        self.sock.close()


def test_the_cli_delivers_through_smtp(app, db_session, asked) -> None:
    _, ada, _, _ = asked
    server = _LoopbackSmtp()
    settings = app.extensions["tandem.settings"]
    app.extensions["tandem.settings"] = settings.with_overrides(smtp_url=f"smtp://127.0.0.1:{server.port}")
    try:
        result = app.test_cli_runner().invoke(mail, ["send", "--once"])
    finally:
        app.extensions["tandem.settings"] = settings
    assert result.exit_code == 0, result.output
    assert "sent 1," in result.output
    server.thread.join(10)
    message = message_from_bytes(server.received[0])
    assert message["To"] == ada.email and message["Subject"] == "Tandem: New mentoring request"
    db.session.expire_all()
    assert db.session.scalar(select(Notification.email_status)) == "sent"


def test_notification_list_marks_read(app, client, db_session, asked) -> None:
    programme, ada, _, _ = asked
    page = Browser(app, client, actor_for(ada, programme.course))
    assert 'data-unread="1"' in page.get("/notifications").get_data(as_text=True)
    assert page.post("/notifications/read").status_code == 303
    assert "data-unread" not in page.get("/notifications").get_data(as_text=True)
    other = enrol(programme.course)
    db_session.commit()
    assert notifications.mark_read(db_session, actor_for(other, programme.course)) == 0


def test_housekeeping_commands(app, db_session) -> None:
    from datetime import timedelta

    from lti_app.commands.mentoring import mentoring
    from lti_app.models.base import utcnow

    programme = ProgrammeFactory()
    ada, bob = mentor(programme), mentee(programme)
    old = utcnow() - timedelta(days=30)
    rel = relationships.request_mentoring(
        db_session, actor_for(bob, programme.course), programme.id, ada.id, now=old
    )
    db_session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(mentoring, ["expire"])
    assert result.exit_code == 0 and "expired 1 requests" in result.output
    db_session.refresh(rel)
    assert rel.status == "expired"
    result = runner.invoke(mentoring, ["reindex"])
    assert result.exit_code == 0 and "indexed 2 people" in result.output
