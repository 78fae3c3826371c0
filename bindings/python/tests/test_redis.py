"""The Redis store from Python: ``sessile.open(url)`` and Django's
``SESSILE_URL`` reach a redis-server shared between engines (as between
worker processes), and an unreachable server is ``sessile.Unavailable``
at once. ``make test-python`` runs the suite under tests/with-redis-server,
which sets SESSILE_TEST_REDIS_URL; without it these tests fail, they do not
skip."""

import os
import uuid

import pytest
from django.test import override_settings

import sessile
from sessile.django import SessionStore, get_engine


@pytest.fixture
def redis_url():
    base = os.environ.get("SESSILE_TEST_REDIS_URL")
    if not base:
        pytest.fail("SESSILE_TEST_REDIS_URL is not set: run `make test-python` from the repository root")
    # A prefix of its own: tests never see each other's sessions.
    return f"{base}?prefix=py-{uuid.uuid4().hex}:"


def test_a_redis_url_is_shared_by_engines_and_django(redis_url):
    with sessile.open(redis_url) as a, sessile.open(redis_url) as b:
        key = a.create({"user_id": 42}, expiry=3600)
        assert b.load(key).data == {"user_id": 42}
        b.save_delta(key, set={"cart": [1, 2]})
        assert a.load(key).data == {"user_id": 42, "cart": [1, 2]}

    with override_settings(SESSILE_URL=redis_url, SESSILE_PATH=None):
        store = SessionStore()
        store["visits"] = 1
        store.save()
        assert get_engine().path == redis_url
        assert SessionStore(store.session_key).load() == {"visits": 1}

    with pytest.raises(sessile.Unavailable, match="unavailable"):
        sessile.open("redis://127.0.0.1:1/0")
