def test_healthz_reports_database(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["X-Request-Id"]


def test_unknown_api_path_answers_json_404(client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"] == "not_found" and body["request_id"]


def test_unknown_page_answers_html_404(client) -> None:
    response = client.get("/nothing-here")
    assert response.status_code == 404
    assert b"There is nothing at this address." in response.data


def test_frames_allowed_only_for_registered_platforms(client, db_session) -> None:
    from tests.factories.core import RegistrationFactory

    RegistrationFactory(issuer="https://moodle.example.test", auth_login_url="https://moodle.example.test/auth")
    db_session.commit()
    client.application.extensions["tandem.platform_origins"].refresh()
    response = client.get("/healthz")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://moodle.example.test" in csp
    assert "X-Frame-Options" not in response.headers


def test_oversized_body_is_a_clear_413(client) -> None:
    response = client.post("/api/v1/anything", data=b"x" * (2 * 1024 * 1024), content_type="application/json")
    assert response.status_code == 413


def test_openapi_document_is_served(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["info"]["title"] == "Tandem API"
    assert "launchToken" in spec["components"]["securitySchemes"]


def test_ids_beyond_an_integer_column_are_not_found_on_every_database(client) -> None:
    # PostgreSQL's INTEGER stops at 2**31 - 1; a larger id must be a 404, never "integer out of range".
    for path in ("/feedback/cycles/2147483648", "/programmes/3000000000/overview", "/relationships/99999999999"):
        assert client.get(path).status_code == 404
