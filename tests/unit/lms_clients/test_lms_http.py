"""LMSHttp against a real loopback server: retries, backoff, timeouts, errors and what gets logged."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lms_clients import LMSHttp, LMSRequestError
from lms_clients.http import json_body, parse_retry_after


def sequence(*responses: Response) -> Callable[[Request], Response]:
    """A handler answering each request with the next response (the last one repeats)."""
    remaining = list(responses)

    def handler(request: Request) -> Response:
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return handler


def test_429_waits_for_retry_after_seconds_then_succeeds(
    lms_server: HTTPServer, http: LMSHttp, sleeps: list[float], received: Callable[[str], list[Request]]
) -> None:
    lms_server.expect_request("/busy").respond_with_handler(
        sequence(Response("slow down", status=429, headers={"Retry-After": "7"}), Response("ok"))
    )

    response = http.request("GET", lms_server.url_for("/busy"))

    assert response.text == "ok"
    assert sleeps == [7.0]
    assert len(received("/busy")) == 2


def test_429_retry_after_http_date_is_capped(lms_server: HTTPServer, sleeps: list[float]) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)
    lms_server.expect_request("/busy").respond_with_handler(
        sequence(Response(status=429, headers={"Retry-After": later}), Response("ok"))
    )
    with LMSHttp(sleep=sleeps.append, retry_after_max=60.0) as http:
        http.request("GET", lms_server.url_for("/busy"))

    assert sleeps == [60.0]


def test_503_three_times_then_success_backs_off_exponentially(
    lms_server: HTTPServer, http: LMSHttp, sleeps: list[float], received: Callable[[str], list[Request]]
) -> None:
    unavailable = Response("maintenance", status=503)
    lms_server.expect_request("/flaky").respond_with_handler(
        sequence(unavailable, unavailable, unavailable, Response("ok"))
    )

    assert http.request("GET", lms_server.url_for("/flaky")).text == "ok"

    assert len(received("/flaky")) == 4
    assert sleeps == [0.5, 1.0, 2.0]  # the jitter fixture returns the ceiling of each full-jitter draw


def test_gives_up_after_max_attempts(
    lms_server: HTTPServer, http: LMSHttp, sleeps: list[float], received: Callable[[str], list[Request]]
) -> None:
    lms_server.expect_request("/down").respond_with_data("bad gateway", status=502)

    with pytest.raises(LMSRequestError) as caught:
        http.request("GET", lms_server.url_for("/down"))

    assert caught.value.status == 502
    assert caught.value.body == "bad gateway"
    assert not caught.value.timed_out
    assert "4 attempts" in str(caught.value)
    assert len(received("/down")) == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422, 500])
def test_other_errors_are_not_retried(
    lms_server: HTTPServer,
    http: LMSHttp,
    sleeps: list[float],
    received: Callable[[str], list[Request]],
    status: int,
) -> None:
    lms_server.expect_request("/refused").respond_with_json({"error": "nope"}, status=status)

    with pytest.raises(LMSRequestError) as caught:
        http.request("POST", lms_server.url_for("/refused"), json={"a": 1})

    assert len(received("/refused")) == 1
    assert sleeps == []
    assert caught.value.status == status
    assert caught.value.method == "POST"
    assert json.loads(caught.value.body or "") == {"error": "nope"}


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Lets a deliberately slow handler finish once the test is over."""
    event = threading.Event()
    yield event
    event.set()


def test_read_timeout_raises_timed_out_error(
    lms_server: HTTPServer,
    sleeps: list[float],
    release: threading.Event,
    received: Callable[[str], list[Request]],
) -> None:
    def slow(request: Request) -> Response:
        release.wait(5)
        return Response("too late")

    lms_server.expect_request("/slow").respond_with_handler(slow)
    with (
        LMSHttp(read_timeout=0.2, max_attempts=2, sleep=sleeps.append) as http,
        pytest.raises(LMSRequestError) as caught,
    ):
        http.request("GET", lms_server.url_for("/slow"))

    assert caught.value.timed_out is True
    assert caught.value.status is None
    assert "did not answer in time" in str(caught.value)
    assert len(sleeps) == 1  # a GET is retried after a timeout


def test_post_is_not_replayed_after_a_lost_answer_unless_idempotent(
    lms_server: HTTPServer, sleeps: list[float], release: threading.Event
) -> None:
    seen: list[str] = []

    def slow(request: Request) -> Response:
        seen.append(request.method)
        release.wait(5)
        return Response("created", status=201)

    lms_server.expect_request("/create").respond_with_handler(slow)
    with LMSHttp(read_timeout=0.2, max_attempts=3, sleep=sleeps.append) as http:
        with pytest.raises(LMSRequestError) as caught:
            http.request("POST", lms_server.url_for("/create"), json={})
        assert caught.value.timed_out
        assert sleeps == []

        with pytest.raises(LMSRequestError):
            http.request("POST", lms_server.url_for("/create"), json={}, idempotent=True)
        assert len(sleeps) == 2


def test_post_retried_on_503_but_not_on_504(
    lms_server: HTTPServer, http: LMSHttp, received: Callable[[str], list[Request]]
) -> None:
    lms_server.expect_request("/a").respond_with_handler(sequence(Response(status=503), Response("ok")))
    lms_server.expect_request("/b").respond_with_data("gateway timeout", status=504)

    assert http.request("POST", lms_server.url_for("/a"), data="x").text == "ok"
    with pytest.raises(LMSRequestError):
        http.request("POST", lms_server.url_for("/b"), data="x")

    assert len(received("/a")) == 2
    assert len(received("/b")) == 1


def test_connection_refused_is_retried_then_reported(sleeps: list[float]) -> None:
    with socket.socket() as probe:  # find a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        LMSHttp(max_attempts=3, sleep=sleeps.append, jitter=lambda ceiling: ceiling) as http,
        pytest.raises(LMSRequestError) as caught,
    ):
        http.request("POST", f"http://127.0.0.1:{port}/mod/lti/token.php", data={"a": "b"})

    assert caught.value.status is None
    assert caught.value.timed_out is False
    assert "could not be reached" in str(caught.value)
    assert sleeps == [0.5, 1.0]  # never sent, so even a POST is retried
    assert isinstance(caught.value.__cause__, requests.ConnectionError)


def test_full_jitter_stays_within_the_exponential_ceiling() -> None:
    http = LMSHttp(backoff_base=1.0, backoff_max=5.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)]:
        delays = [http.backoff_delay(attempt) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 22, 1, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("Sun, 22 Nov 2026 01:00:30 GMT", now=now.timestamp()) == 30.0
    assert parse_retry_after("Sun, 22 Nov 2026 00:59:00 GMT", now=now.timestamp()) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after(None) is None


def test_sends_json_with_the_exact_content_type_and_accept(lms_server: HTTPServer, http: LMSHttp) -> None:
    lms_server.expect_request(
        "/items",
        method="POST",
        headers={"Content-Type": "application/vnd.example+json", "Accept": "application/vnd.example+json"},
        json={"label": "é", "n": 1.5},
    ).respond_with_data("", status=204)

    response = http.request(
        "POST",
        lms_server.url_for("/items"),
        json={"label": "é", "n": 1.5},
        content_type="application/vnd.example+json",
        accept="application/vnd.example+json",
    )

    assert response.status_code == 204


def test_logs_method_path_status_and_attempt_but_no_secrets(
    lms_server: HTTPServer, http: LMSHttp, caplog: pytest.LogCaptureFixture
) -> None:
    lms_server.expect_request("/mod/lti/services.php/2/lineitems").respond_with_handler(
        sequence(Response(status=503), Response("[]"))
    )
    caplog.set_level(logging.DEBUG, logger="lms_clients")

    http.request(
        "GET",
        lms_server.url_for("/mod/lti/services.php/2/lineitems"),
        params={"user_id": "person-4711"},
        headers={"Authorization": "Bearer very-secret-token"},
    )

    ours = [r for r in caplog.records if r.name.startswith("lms_clients")]
    text = "\n".join(r.getMessage() for r in ours)
    assert "GET" in text and "/mod/lti/services.php/2/lineitems" in text
    assert "503" in text and "attempt 1/4" in text and "attempt 2" in text
    assert "very-secret-token" not in text
    assert "person-4711" not in text


def test_json_body_rejects_wrong_content_type_and_bad_json(lms_server: HTTPServer, http: LMSHttp) -> None:
    lms_server.expect_request("/html").respond_with_data("<html>login</html>", content_type="text/html")
    lms_server.expect_request("/broken").respond_with_data('{"id": ', content_type="application/json")
    lms_server.expect_request("/vendor").respond_with_data(
        '{"ok": true}', content_type="application/vnd.example+json; charset=utf-8"
    )

    with pytest.raises(LMSRequestError, match="as 'text/html'") as caught:
        json_body(http.request("GET", lms_server.url_for("/html")), media_types=("application/x",), what="x")
    assert caught.value.body == "<html>login</html>"
    with pytest.raises(LMSRequestError, match="not valid JSON"):
        json_body(http.request("GET", lms_server.url_for("/broken")), media_types=None, what="x")
    vendor = http.request("GET", lms_server.url_for("/vendor"))
    ok = json_body(vendor, media_types=("application/vnd.example+json",), what="x")
    assert ok == {"ok": True}


@pytest.mark.parametrize(
    ("header", "expected"),
    [("90", 90.0), (None, None), ("soon", None)],
)
def test_the_error_carries_the_platforms_retry_after(
    lms_server: HTTPServer, sleeps: list[float], header: str | None, expected: float | None
) -> None:
    """A caller with its own, durable retries (the outbox) reads the wait from the error itself."""
    headers = {"Retry-After": header} if header is not None else {}
    lms_server.expect_request("/busy").respond_with_data("slow down", status=429, headers=headers)

    with LMSHttp(max_attempts=1, sleep=sleeps.append) as http, pytest.raises(LMSRequestError) as caught:
        http.request("POST", lms_server.url_for("/busy"), json={"a": 1})

    assert caught.value.status == 429
    assert caught.value.retry_after == expected
    assert sleeps == []


def test_retry_after_of_the_last_answer_after_giving_up(lms_server: HTTPServer, sleeps: list[float]) -> None:
    lms_server.expect_request("/busy").respond_with_handler(
        sequence(
            Response(status=503, headers={"Retry-After": "5"}),
            Response(status=503, headers={"Retry-After": "300"}),
        )
    )

    with LMSHttp(max_attempts=2, sleep=sleeps.append) as http, pytest.raises(LMSRequestError) as caught:
        http.request("GET", lms_server.url_for("/busy"))

    assert sleeps == [5.0]
    assert caught.value.retry_after == 300.0  # what the platform asked last, not capped for a caller's queue


def test_transport_errors_carry_no_retry_after() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LMSHttp(max_attempts=1) as http, pytest.raises(LMSRequestError) as caught:
        http.request("GET", f"http://127.0.0.1:{port}/nobody-listens")

    assert caught.value.status is None and caught.value.retry_after is None
