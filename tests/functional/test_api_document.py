"""The OpenAPI document in docs/api is the one the code generates."""

import json
from pathlib import Path

import pytest

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.json"


def test_committed_openapi_document_matches_the_schemas(client, dialect) -> None:
    if dialect != "sqlite":
        pytest.skip("the document does not depend on the database: checked once, on SQLite")
    served = client.get("/api/v1/openapi.json").get_json()
    committed = json.loads(DOCUMENT.read_text())
    assert served == committed, "regenerate it: tandem openapi write docs/api/openapi.json"
