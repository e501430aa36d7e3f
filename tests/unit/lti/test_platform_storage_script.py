"""The platform-storage script (``templates/lti/_platform_storage.js``) run under Node with stand-in windows:
whom it talks to (the LMS frame's parent, or the opener of a launch in a new window) and whose answers it
believes (only the window it asked, from the platform's origin).

Skipped where Node is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader

TEMPLATES = Path(__file__).resolve().parents[3] / "lti_app" / "templates"
PLATFORM = "https://lms.example"

# Stand-in windows: each records what is posted to it. ``scenario`` (set by the test) wires them up, sends
# one lti.get_data and delivers answers; the outcome is printed as JSON once the promise has had its turn.
HARNESS = r"""
function fakeWindow(name) {
  var w = {name: name, sent: [], frames: {}};
  w.postMessage = function (m, o) { w.sent.push({message: m, origin: o}); };
  return w;
}
var listeners = [];
var lms = fakeWindow('lms'), storageFrame = fakeWindow('storage'), other = fakeWindow('other');
var opener = fakeWindow('opener'), openerStorage = fakeWindow('opener-storage');
lms.frames['post_message_forwarding'] = storageFrame;
opener.frames['post_message_forwarding'] = openerStorage;
var self = {addEventListener: function (type, fn) { if (type === 'message') listeners.push(fn); }};
self.parent = SCENARIO.framed ? lms : self;
self.opener = SCENARIO.opener ? opener : null;
global.window = self;
global.setTimeout = function () {};  // no real waiting: a promise not settled yet stays pending
var outcome = {state: 'pending'};
var storage = platformStorage({target: 'post_message_forwarding', origin: 'https://lms.example'});
storage.get('state_abc').then(function (v) { outcome = {state: 'resolved', value: v}; },
                              function (e) { outcome = {state: 'rejected', error: e.code}; });
var asked = [lms, storageFrame, other, opener, openerStorage].filter(function (w) { return w.sent.length; });
var request = asked.length ? asked[0].sent[0].message : null;
(SCENARIO.answers || []).forEach(function (a) {
  var data = {subject: 'lti.get_data.response', message_id: request && request.message_id,
              key: 'state_abc', value: a.value};
  var source = {lms: lms, storage: storageFrame, other: other, 'opener-storage': openerStorage}[a.from];
  listeners.forEach(function (fn) { fn({data: data, origin: a.origin, source: source}); });
});
setImmediate(function () {
  console.log(JSON.stringify({asked: asked.map(function (w) { return w.name; }),
                              targetOrigin: asked.length ? asked[0].sent[0].origin : null,
                              outcome: outcome}));
});
"""


def run(scenario: dict[str, object]) -> dict[str, object]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node is not installed: the platform-storage script is exercised by the browser tests")
    script = Environment(loader=FileSystemLoader(TEMPLATES)).get_template("lti/_platform_storage.js").render()
    source = f"var SCENARIO = {json.dumps(scenario)};\n{script}\n{HARNESS}"
    done = subprocess.run([node, "-e", source], capture_output=True, text=True, timeout=30, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_inside_the_lms_frame_it_asks_the_named_storage_frame_and_believes_its_answer() -> None:
    result = run({"framed": True, "answers": [{"from": "storage", "origin": PLATFORM, "value": "abc"}]})

    assert result["asked"] == ["storage"]
    assert result["targetOrigin"] == PLATFORM
    assert result["outcome"] == {"state": "resolved", "value": "abc"}


@pytest.mark.parametrize("forger", ["other", "lms"])
def test_an_answer_from_another_window_of_the_platform_origin_is_ignored(forger: str) -> None:
    result = run(
        {
            "framed": True,
            "answers": [
                {"from": forger, "origin": PLATFORM, "value": "forged"},
                {"from": "storage", "origin": PLATFORM, "value": "abc"},
            ],
        }
    )

    assert result["outcome"] == {"state": "resolved", "value": "abc"}


def test_an_answer_from_another_origin_is_ignored() -> None:
    answer = {"from": "storage", "origin": "https://evil.example", "value": "x"}
    result = run({"framed": True, "answers": [answer]})

    assert result["outcome"] == {"state": "pending"}


def test_a_framed_page_never_talks_to_an_opener() -> None:
    result = run({"framed": True, "opener": True, "answers": []})

    assert result["asked"] == ["storage"]  # the storage frame of the parent (the LMS page framing it)


def test_a_launch_in_a_new_window_talks_to_its_opener() -> None:
    answer = {"from": "opener-storage", "origin": PLATFORM, "value": "abc"}
    result = run({"framed": False, "opener": True, "answers": [answer]})

    assert result["asked"] == ["opener-storage"]
    assert result["outcome"] == {"state": "resolved", "value": "abc"}


def test_a_page_neither_framed_nor_opened_by_the_lms_says_so() -> None:
    result = run({"framed": False, "opener": False})

    assert result["asked"] == []
    assert result["outcome"] == {"state": "rejected", "error": "no_platform"}
