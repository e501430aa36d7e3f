"""ServiceClient: bearer tokens on every call, one fresh-token retry after a 401."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lms_clients import LMSHttp, LMSRequestError, ServiceClient, TokenClient, scopes

SCOPES = (scopes.AGS_LINEITEM_READONLY,)


@pytest.fixture
def service(http: LMSHttp, token_client: TokenClient) -> ServiceClient:
    return ServiceClient(http, token_client)


def test_call_sends_the_bearer_token(
    lms_server: HTTPServer,
    token_endpoint: Any,
    guarded: Callable[..., Any],
    service: ServiceClient,
    received: Callable[[str], list[Request]],
) -> None:
    lms_server.expect_request("/svc").respond_with_handler(guarded(lambda request: Response("ok")))

    assert service.call("GET", lms_server.url_for("/svc"), SCOPES).text == "ok"
    assert service.call("GET", lms_server.url_for("/svc"), SCOPES).text == "ok"

    assert len(token_endpoint.issued) == 1
    sent = [r.headers["Authorization"] for r in received("/svc")]
    assert sent == [f"Bearer {token_endpoint.issued[0]}"] * 2


def test_401_refreshes_the_token_once_then_succeeds(
    lms_server: HTTPServer,
    token_endpoint: Any,
    service: ServiceClient,
    received: Callable[[str], list[Request]],
) -> None:
    def revoked_first_token(request: Request) -> Response:
        if request.headers["Authorization"] == f"Bearer {token_endpoint.issued[0]}":
            return Response(status=401)  # Moodle forgets tokens when the tool type is edited
        return Response("ok")

    lms_server.expect_request("/svc").respond_with_handler(revoked_first_token)

    assert service.call("GET", lms_server.url_for("/svc"), SCOPES).text == "ok"

    assert len(token_endpoint.issued) == 2
    sent = [r.headers["Authorization"] for r in received("/svc")]
    assert sent == [f"Bearer {t}" for t in token_endpoint.issued]
    # The fresh token is the cached one from now on.
    assert service.call("GET", lms_server.url_for("/svc"), SCOPES).text == "ok"
    assert len(token_endpoint.issued) == 2


def test_second_401_is_reported(
    lms_server: HTTPServer,
    token_endpoint: Any,
    service: ServiceClient,
    sleeps: list[float],
    received: Callable[[str], list[Request]],
) -> None:
    lms_server.expect_request("/svc").respond_with_data("no", status=401)

    with pytest.raises(LMSRequestError) as caught:
        service.call("GET", lms_server.url_for("/svc"), SCOPES)

    assert caught.value.status == 401
    assert "rejected a freshly issued access token" in str(caught.value)
    assert len(received("/svc")) == 2
    assert len(token_endpoint.issued) == 2
    assert sleeps == []
    for token in token_endpoint.issued:
        assert token not in repr(caught.value) and token not in str(caught.value)


def test_shared_scopes_use_one_token_for_every_operation(
    lms_server: HTTPServer, token_endpoint: Any, http: LMSHttp, token_client: TokenClient
) -> None:
    lms_server.expect_request("/svc").respond_with_data("ok")
    service = ServiceClient(http, token_client, shared_scopes=scopes.ALL_AGS)

    service.call("GET", lms_server.url_for("/svc"), (scopes.AGS_LINEITEM_READONLY,))
    service.call("POST", lms_server.url_for("/svc"), (scopes.AGS_SCORE,))

    assert token_endpoint.scopes == [" ".join(sorted(scopes.ALL_AGS))]
