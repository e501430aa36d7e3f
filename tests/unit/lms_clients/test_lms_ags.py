"""AssignmentGradesClient against Moodle's real AGS answers and the spec's rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lms_clients import (
    LINEITEM,
    LINEITEM_CONTAINER,
    RESULT_CONTAINER,
    ActivityProgress,
    AssignmentGradesClient,
    GradingProgress,
    LineItem,
    LMSRequestError,
    Score,
)

LINEITEMS = "/mod/lti/services.php/2/lineitems"
LINEITEM_PATH = "/mod/lti/services.php/2/lineitems/2/lineitem"


def test_lists_line_items_from_moodle_bare_array(
    lms_server: HTTPServer,
    capture: Callable[[str], Any],
    guarded: Callable[..., Any],
    ags: AssignmentGradesClient,
    received: Callable[[str], list[Request]],
) -> None:
    exchange = capture("svc_04_ags_lineitems.json")
    assert isinstance(exchange.raw["response"]["json"], list)
    lms_server.expect_request(exchange.path, method="GET").respond_with_handler(
        guarded(lambda request: exchange.response())
    )

    items = ags.list_line_items(exchange.request["url"])

    [item] = items
    assert item.id == exchange.answer_json[0]["id"]
    assert item.id is not None and item.id.endswith("/lineitems/2/lineitem?type_id=1")
    assert item.label == "Lab LTI Activity"
    assert item.score_maximum == 10
    assert item.resource_link_id == "1"
    assert item.resource_id is None and item.tag is None  # Moodle's "" means unset
    [request] = received(exchange.path)
    assert request.headers["Accept"] == LINEITEM_CONTAINER
    assert request.args.to_dict() == {"type_id": "1"}


def test_line_item_filters_merge_into_the_existing_query(
    lms_server: HTTPServer, guarded: Callable[..., Any], ags: AssignmentGradesClient
) -> None:
    lms_server.expect_request(
        LINEITEMS, query_string={"type_id": "1", "resource_link_id": "1", "tag": "tandem", "limit": "5"}
    ).respond_with_handler(guarded(lambda request: Response("[]", content_type=LINEITEM_CONTAINER)))

    url = lms_server.url_for(LINEITEMS) + "?type_id=1"
    assert ags.list_line_items(url, resource_link_id="1", tag="tandem", limit=5) == []


def test_line_items_follow_next_links(
    lms_server: HTTPServer, guarded: Callable[..., Any], ags: AssignmentGradesClient
) -> None:
    base = lms_server.url_for(LINEITEMS)

    def pages(request: Request) -> Response:
        page = int(request.args.get("page", "0"))
        item = {"id": f"{base}/{page}/lineitem?type_id=1", "label": f"Item {page}", "scoreMaximum": 1}
        headers = {"Link": f'<{base}?type_id=1&page={page + 1}>; rel="next"'} if page < 2 else {}
        return Response(json.dumps([item]), content_type=LINEITEM_CONTAINER, headers=headers)

    lms_server.expect_request(LINEITEMS).respond_with_handler(guarded(pages))

    items = ags.list_line_items(base + "?type_id=1")

    assert [i.label for i in items] == ["Item 0", "Item 1", "Item 2"]


def test_gets_one_line_item(
    lms_server: HTTPServer,
    capture: Callable[[str], Any],
    guarded: Callable[..., Any],
    ags: AssignmentGradesClient,
    received: Callable[[str], list[Request]],
) -> None:
    exchange = capture("svc_05_ags_lineitem.json")
    lms_server.expect_request(exchange.path, query_string=exchange.query).respond_with_handler(
        guarded(lambda request: exchange.response())
    )

    item = ags.get_line_item(exchange.request["url"])

    assert item.id == exchange.request["url"]
    assert (item.label, item.score_maximum, item.resource_link_id) == ("Lab LTI Activity", 10, "1")
    assert received(exchange.path)[0].headers["Accept"] == LINEITEM


def test_creates_a_line_item_like_moodle_expects(
    lms_server: HTTPServer,
    capture: Callable[[str], Any],
    guarded: Callable[..., Any],
    ags: AssignmentGradesClient,
    received: Callable[[str], list[Request]],
) -> None:
    exchange = capture("svc_08_ags_create_lineitem.json")
    lms_server.expect_request(exchange.path, method="POST", query_string=exchange.query).respond_with_handler(
        guarded(lambda request: exchange.response())
    )
    sent = exchange.request["body"]

    created = ags.create_line_item(
        exchange.request["url"],
        LineItem(
            label=sent["label"],
            score_maximum=sent["scoreMaximum"],
            resource_id=sent["resourceId"],
            tag=sent["tag"],
            resource_link_id=sent["resourceLinkId"],
        ),
    )

    [request] = received(exchange.path)
    assert request.headers["Content-Type"] == exchange.request["headers"]["Content-Type"] == LINEITEM
    assert json.loads(request.get_data()) == sent
    assert created.id == exchange.answer_json["id"]
    assert (created.label, created.score_maximum, created.tag) == ("Tool-created line item", 20, "lab")


def test_posts_a_score_with_the_exact_media_type_and_keeps_type_id(
    lms_server: HTTPServer,
    capture: Callable[[str], Any],
    guarded: Callable[..., Any],
    ags: AssignmentGradesClient,
    received: Callable[[str], list[Request]],
) -> None:
    exchange = capture("svc_06_ags_post_score.json")
    assert exchange.path == LINEITEM_PATH + "/scores" and exchange.query == "type_id=1"
    lms_server.expect_request(exchange.path, method="POST", query_string="type_id=1").respond_with_handler(
        guarded(lambda request: exchange.response())  # 200 with an empty body, as Moodle answers
    )
    sent = exchange.request["body"]

    ags.post_score(
        lms_server.url_for(LINEITEM_PATH) + "?type_id=1",
        Score(
            user_id=sent["userId"],
            score_given=sent["scoreGiven"],
            score_maximum=sent["scoreMaximum"],
            comment=sent["comment"],
            activity_progress=ActivityProgress.COMPLETED,
            grading_progress=GradingProgress.FULLY_GRADED,
            timestamp=datetime(2026, 11, 22, 1, 35, 58, tzinfo=UTC),
        ),
    )

    [request] = received(exchange.path)
    assert request.headers["Content-Type"] == "application/vnd.ims.lis.v1.score+json"
    assert request.args.to_dict() == {"type_id": "1"}
    body = json.loads(request.get_data())
    assert body == sent
    assert list(body) == list(sent)  # same field order as the capture, for readable diffs
    assert body["timestamp"] == "2026-11-22T01:35:58+00:00"


def test_score_answers_202_and_204_are_fine(
    lms_server: HTTPServer, guarded: Callable[..., Any], ags: AssignmentGradesClient
) -> None:
    lms_server.expect_request("/a/lineitem/scores").respond_with_handler(
        guarded(lambda request: Response(status=204))
    )
    lms_server.expect_request("/b/lineitem/scores").respond_with_handler(
        guarded(lambda request: Response('{"ignored": true}', status=202, content_type="text/plain"))
    )
    score = Score(
        user_id="4",
        activity_progress="Started",
        grading_progress="NotReady",
        timestamp=datetime.now(UTC),
    )

    ags.post_score(lms_server.url_for("/a/lineitem"), score)
    ags.post_score(lms_server.url_for("/b/lineitem/"), score)


def test_score_post_is_retried_after_504_but_creation_is_not(
    lms_server: HTTPServer,
    guarded: Callable[..., Any],
    ags: AssignmentGradesClient,
    received: Callable[[str], list[Request]],
) -> None:
    calls: list[int] = []

    def flaky(request: Request) -> Response:
        calls.append(1)
        return Response(status=504) if len(calls) == 1 else Response(status=200)

    lms_server.expect_request("/li/lineitem/scores").respond_with_handler(guarded(flaky))
    lms_server.expect_request("/li", method="POST").respond_with_handler(
        guarded(lambda request: Response(status=504))
    )
    score = Score(user_id="4", activity_progress="Completed", grading_progress="FullyGraded",
                  timestamp=datetime.now(UTC), score_given=1, score_maximum=1)

    ags.post_score(lms_server.url_for("/li/lineitem"), score)
    with pytest.raises(LMSRequestError) as caught:
        ags.create_line_item(lms_server.url_for("/li"), LineItem(label="x", score_maximum=1))

    assert len(received("/li/lineitem/scores")) == 2
    assert len(received("/li")) == 1
    assert caught.value.status == 504


def test_reads_results_keeping_type_id(
    lms_server: HTTPServer,
    capture: Callable[[str], Any],
    guarded: Callable[..., Any],
    ags: AssignmentGradesClient,
    received: Callable[[str], list[Request]],
) -> None:
    exchange = capture("svc_07_ags_results.json")
    lms_server.expect_request(exchange.path, method="GET").respond_with_handler(
        guarded(lambda request: exchange.response())
    )
    lineitem_url = lms_server.url_for(LINEITEM_PATH) + "?type_id=1"

    [result] = ags.results(lineitem_url)
    ags.results(lineitem_url, user_id="4")

    assert result.user_id == "4"
    assert (result.result_score, result.result_maximum) == (8.5, 10)
    assert result.comment == "Lab tool score"
    assert result.score_of == lineitem_url
    assert result.timestamp == datetime(2026, 11, 22, 1, 35, 58, tzinfo=UTC)
    first, second = received(exchange.path)
    assert first.headers["Accept"] == RESULT_CONTAINER
    assert first.args.to_dict() == {"type_id": "1"}
    assert second.args.to_dict() == {"type_id": "1", "user_id": "4"}


def test_updates_and_deletes_a_line_item(
    lms_server: HTTPServer,
    guarded: Callable[..., Any],
    ags: AssignmentGradesClient,
    received: Callable[[str], list[Request]],
) -> None:
    url = lms_server.url_for(LINEITEM_PATH) + "?type_id=1"
    lms_server.expect_request(LINEITEM_PATH, method="PUT").respond_with_handler(
        guarded(lambda request: Response(request.get_data(), content_type=LINEITEM))
    )
    lms_server.expect_request(LINEITEM_PATH, method="DELETE").respond_with_handler(
        guarded(lambda request: Response(status=204))
    )
    start = datetime(2026, 9, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))

    updated = ags.update_line_item(
        LineItem(id=url, label="Renamed", score_maximum=100, tag="tandem", start_date_time=start)
    )
    ags.delete_line_item(url)

    put, delete = received(LINEITEM_PATH)
    assert put.method == "PUT" and put.headers["Content-Type"] == LINEITEM
    assert json.loads(put.get_data()) == {
        "id": url, "label": "Renamed", "scoreMaximum": 100, "tag": "tandem",
        "startDateTime": "2026-09-01T08:00:00+02:00",
    }
    assert updated.label == "Renamed" and updated.start_date_time == start
    assert delete.method == "DELETE" and delete.args.to_dict() == {"type_id": "1"}


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ('{"label": "x", "scoreMaximum": 1}', LINEITEM, "id: Missing data"),
        ('{"id": "u", "label": "x"}', LINEITEM, "scoreMaximum"),
        ('{"id": "u", "label": "x", "scoreMaximum": 1}', "text/html; charset=utf-8", "as 'text/html'"),
        ('{"id": "u", "label"', LINEITEM, "not valid JSON"),
        ("[]", LINEITEM, "not a JSON object"),
    ],
)
def test_surprising_line_item_answers_are_errors(
    lms_server: HTTPServer,
    guarded: Callable[..., Any],
    ags: AssignmentGradesClient,
    body: str,
    content_type: str,
    message: str,
) -> None:
    lms_server.expect_request(LINEITEM_PATH).respond_with_handler(
        guarded(lambda request: Response(body, content_type=content_type))
    )

    with pytest.raises(LMSRequestError, match=message):
        ags.get_line_item(lms_server.url_for(LINEITEM_PATH))


def test_line_item_container_must_be_an_array(
    lms_server: HTTPServer, guarded: Callable[..., Any], ags: AssignmentGradesClient
) -> None:
    lms_server.expect_request(LINEITEMS).respond_with_handler(
        guarded(lambda request: Response('{"lineItems": []}', content_type=LINEITEM_CONTAINER))
    )
    with pytest.raises(LMSRequestError, match="not a JSON array"):
        ags.list_line_items(lms_server.url_for(LINEITEMS))


def _score(**changes: Any) -> Score:
    values: dict[str, Any] = {
        "user_id": "4",
        "score_given": 1.0,
        "score_maximum": 2.0,
        "activity_progress": "Completed",
        "grading_progress": "FullyGraded",
        "timestamp": datetime(2026, 1, 1, tzinfo=UTC),
    }
    values.update(changes)
    return Score(**values)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"activity_progress": "Done"}, "activityProgress"),
        ({"grading_progress": "Graded"}, "gradingProgress"),
        ({"timestamp": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"score_maximum": None}, "scoreMaximum is required"),
        ({"score_given": -1}, "at least 0"),
        ({"score_maximum": 0}, "greater than 0"),
        ({"score_given": float("nan")}, "scoreGiven"),
        ({"user_id": ""}, "user id"),
    ],
)
def test_invalid_scores_are_refused_before_sending(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _score(**changes)


def test_score_json_omits_what_is_not_given() -> None:
    score = _score(
        score_given=None, score_maximum=None, activity_progress="Started", grading_progress="Pending"
    )
    assert score.to_json() == {
        "userId": "4",
        "activityProgress": "Started",
        "gradingProgress": "Pending",
        "timestamp": "2026-01-01T00:00:00+00:00",
    }


def test_line_item_is_validated_before_sending() -> None:
    with pytest.raises(ValueError, match="label"):
        LineItem(label=" ", score_maximum=1).to_json()
    with pytest.raises(ValueError, match="greater than 0"):
        LineItem(label="x", score_maximum=0).to_json()
