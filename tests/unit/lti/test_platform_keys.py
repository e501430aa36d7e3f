"""The platform key cache: one fetch shared by every launch, one refresh for an unknown kid, and no
fetch storm when forged tokens name made-up kids."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from lms_clients.errors import LMSRequestError
from lti_app.demo_lms.platform import PlatformKey, jwks
from lti_app.errors import LaunchError
from lti_app.lti.platform_keys import PlatformKeys, PlatformKeySet

from .test_protocol import MemoryStore

KEY_SET = PlatformKeySet(registration_id=7, url="https://lms.test/jwks")


class FakeHttp:
    """Stands in for LMSHttp: answers with the JWKS of ``keys`` and counts the fetches."""

    def __init__(self, keys: list[PlatformKey]) -> None:
        self.keys = keys
        self.fetches = 0
        self.fail = False

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.fetches += 1
        if self.fail:
            raise LMSRequestError("The LMS could not be reached", method=method, url=url)
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(jwks(self.keys)).encode()
        response.headers["Content-Type"] = "application/json"
        return response


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def first_key() -> PlatformKey:
    return PlatformKey.generate(kid="k1")


@pytest.fixture(scope="module")
def second_key() -> PlatformKey:
    return PlatformKey.generate(kid="k2")


def make(keys: list[PlatformKey], clock: Clock | None = None) -> tuple[PlatformKeys, FakeHttp, MemoryStore]:
    http, store = FakeHttp(keys), MemoryStore()
    cache = PlatformKeys(store, http, ttl_seconds=3600, min_refresh_seconds=10, clock=clock or Clock())  # type: ignore[arg-type]
    return cache, http, store


def test_fetched_once_then_cached(first_key: PlatformKey) -> None:
    cache, http, _ = make([first_key])
    for _ in range(3):
        assert cache.key_for(KEY_SET, "k1").key_id == "k1"
    assert http.fetches == 1


def test_unknown_kid_refreshes_once(first_key: PlatformKey, second_key: PlatformKey) -> None:
    clock = Clock()
    cache, http, _ = make([first_key], clock)
    cache.key_for(KEY_SET, "k1")
    clock.now += 60
    http.keys = [first_key, second_key]  # the platform rotated

    assert cache.key_for(KEY_SET, "k2").key_id == "k2"
    assert cache.key_for(KEY_SET, "k2").key_id == "k2"
    assert http.fetches == 2


def test_made_up_kids_do_not_cause_a_fetch_storm(first_key: PlatformKey) -> None:
    clock = Clock()
    cache, http, _ = make([first_key], clock)
    cache.key_for(KEY_SET, "k1")

    for kid in ("forged-1", "forged-2", "forged-3"):
        with pytest.raises(LaunchError) as caught:
            cache.key_for(KEY_SET, kid)
        assert caught.value.code == "unknown_key"
    assert http.fetches == 1
    clock.now += 11
    with pytest.raises(LaunchError):
        cache.key_for(KEY_SET, "forged-4")
    assert http.fetches == 2


def test_changed_key_set_url_is_fetched_again(first_key: PlatformKey) -> None:
    cache, http, _ = make([first_key])
    cache.key_for(KEY_SET, "k1")
    cache.key_for(PlatformKeySet(7, "https://lms.test/new-jwks"), "k1")
    assert http.fetches == 2


def test_keys_for_other_algorithms_are_not_used(first_key: PlatformKey) -> None:
    odd = dict(first_key.public_jwk, kid="hs", alg="HS256")
    cache, http, store = make([first_key])
    store.put(KEY_SET.cache_key, {"url": KEY_SET.url, "keys": [odd], "fetched_at": 1_000_000.0}, 60)
    with pytest.raises(LaunchError):
        cache.key_for(KEY_SET, "hs")


def test_unreachable_key_set(first_key: PlatformKey) -> None:
    cache, http, _ = make([first_key])
    http.fail = True
    with pytest.raises(LaunchError) as caught:
        cache.key_for(KEY_SET, "k1")
    assert caught.value.code == "platform_keys_unavailable"
    assert KEY_SET.url in caught.value.message
