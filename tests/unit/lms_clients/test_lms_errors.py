"""LMSRequestError and the helpers that keep secrets and personal data out of it."""

from __future__ import annotations

from lms_clients import LMSRequestError
from lms_clients.errors import redact_secrets, safe_url


def test_str_is_readable() -> None:
    error = LMSRequestError(
        "The LMS answered HTTP 503",
        method="get",
        url="https://moodle.example/mod/lti/services.php/2/lineitems?type_id=1",
        status=503,
    )
    assert str(error) == (
        "The LMS answered HTTP 503 [GET https://moodle.example/mod/lti/services.php/2/lineitems?type_id=1] "
        "(HTTP 503)"
    )
    assert str(LMSRequestError("Too slow", timed_out=True)) == "Too slow (timed out)"
    assert "timed_out=True" in repr(LMSRequestError("Too slow", timed_out=True))


def test_url_loses_credentials_fragment_and_identifying_query_values() -> None:
    url = "https://user:pw@moodle.example:8443/webservice/rest/server.php?wstoken=abc&wsfunction=f&userid=4#x"
    assert safe_url(url) == (
        "https://moodle.example:8443/webservice/rest/server.php?wstoken=***&wsfunction=f&userid=***"
    )
    error = LMSRequestError("x", url=url)
    assert error.url is not None and "abc" not in error.url and "pw" not in error.url


def test_body_is_trimmed_and_secrets_masked() -> None:
    error = LMSRequestError("x", body=b'{"access_token": "tok-123", "token_type": "Bearer"}' + b" " * 1000)
    assert error.body is not None
    assert "tok-123" not in error.body
    assert len(error.body) <= 501
    assert redact_secrets("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer ***"
    assert redact_secrets("wstoken=abcdef&x=1") == "wstoken=***&x=1"
    assert redact_secrets("echo s3cr3t", "s3cr3t") == "echo ***"


def test_body_is_not_part_of_the_message() -> None:
    error = LMSRequestError("Refused", status=400, body='{"email": "someone@example.com"}')
    assert "someone@example.com" not in str(error)
    assert error.body == '{"email": "someone@example.com"}'


def test_retry_after_is_kept_and_shown_in_repr() -> None:
    error = LMSRequestError("Busy", status=429, retry_after=30.0)
    assert error.retry_after == 30.0
    assert "retry_after=30.0" in repr(error)
    assert LMSRequestError("Busy", status=429).retry_after is None
