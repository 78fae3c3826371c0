"""sessile.django beyond Django's own tests: settings read at call time,
Django's error contract, load never creating, clearsessions by the manual
clock, async variants, and parallel requests through real SessionMiddleware
that change different keys and both keep their change."""

import asyncio
import logging
import threading
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.core import management
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

import django_urls
import sessile
from sessile.django import SessionStore, get_engine


@pytest.fixture
def fresh_path(tmp_path):
    with override_settings(SESSILE_PATH=str(tmp_path / "django.db")):
        yield str(tmp_path / "django.db")


def test_settings_are_read_at_call_time(tmp_path):
    with override_settings(SESSILE_PATH=str(tmp_path / "one.db")):
        store = SessionStore()
        store["a"] = 1
        store.save()
        key = store.session_key
        assert SessionStore().exists(key)
    with override_settings(SESSILE_PATH=str(tmp_path / "two.db")):
        assert not SessionStore().exists(key)
        assert get_engine().path.endswith("two.db")
    with override_settings(SESSILE_PATH=None):
        with pytest.raises(ImproperlyConfigured, match="SESSILE_PATH"):
            SessionStore().exists(key)


def test_engines_are_cached_per_path(fresh_path):
    assert get_engine() is get_engine()


def test_create_save_load_delete(fresh_path):
    store = SessionStore()
    store["user"] = "alice"
    store.create()
    key = store.session_key
    assert store.exists(key)
    assert SessionStore(key).load() == {"user": "alice"}
    store["n"] = 1
    store.save()
    assert SessionStore(key).load() == {"user": "alice", "n": 1}
    store.delete()
    assert not store.exists(key)


def test_save_must_create_on_existing_key_is_create_error(fresh_path):
    first = SessionStore()
    first["a"] = 1
    first.save()
    clash = SessionStore(first.session_key)
    clash._session_cache = {"b": 2}
    with pytest.raises(CreateError):
        clash.save(must_create=True)
    assert SessionStore(first.session_key).load() == {"a": 1}


def test_racing_must_create_saves_of_one_key_let_exactly_one_win(fresh_path):
    # Django's contract for save(must_create=True): CreateError if the key
    # is taken. Decided by the store in one step, so of several requests
    # creating the same key at once exactly one wins and its data alone is
    # stored (an exists() check then a save would let several "win" and
    # merge their data).
    import threading

    from sessile import generate_key

    for _ in range(20):
        key = generate_key()
        barrier = threading.Barrier(4)
        outcome = {}

        def create(n):
            store = SessionStore(key)
            store._session_cache = {"writer": n}
            barrier.wait()
            try:
                store.save(must_create=True)
                outcome[n] = "created"
            except CreateError:
                outcome[n] = "refused"

        threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [n for n, o in outcome.items() if o == "created"]
        assert len(winners) == 1, outcome
        assert SessionStore(key).load() == {"writer": winners[0]}


def test_save_after_delete_elsewhere_is_update_error_and_not_resurrected(fresh_path):
    store = SessionStore()
    store["a"] = 1
    store.save()
    SessionStore(store.session_key).delete()
    store["a"] = 2
    with pytest.raises(UpdateError):
        store.save()
    assert not store.exists(store.session_key)


@pytest.mark.parametrize("key", ["someunknownkey", "x" * 32, "a" * 40, "", "../../etc/passwd"])
def test_load_of_unknown_or_malformed_key_is_empty_and_creates_nothing(fresh_path, key):
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None
    assert not get_engine().exists(key) if key else True


def test_load_of_expired_session_is_empty(fresh_path):
    store = SessionStore()
    store["a"] = 1
    store.set_expiry(-timedelta(seconds=1))
    store.save()
    assert SessionStore(store.session_key).load() == {}


def test_load_of_damaged_record_is_empty_and_logged(fresh_path, monkeypatch, caplog):
    store = SessionStore()
    store["a"] = 1
    store.save()

    def damaged(self, key):
        raise sessile.Corrupt("record damaged", 13)

    monkeypatch.setattr(sessile.Engine, "load_raw", damaged)
    with caplog.at_level(logging.WARNING, "django.security.SuspiciousSession"):
        assert SessionStore(store.session_key).load() == {}
    assert "Session data corrupted" in caplog.text


def test_django_ages_outside_400_days_still_save(fresh_path):
    # Django takes any age; the engine keeps a record at most 400 days (the
    # longest browsers keep a cookie) and refuses more, so the backend cuts
    # a longer age, and stores a negative one as already expired.
    engine = get_engine()
    for forever in (10 * 365 * 86400, timedelta(days=3650)):
        store = SessionStore()
        store["a"] = 1
        store.set_expiry(forever)
        store.save()
        record = engine.load(store.session_key)
        assert record.expires_at - engine.now() <= timedelta(days=400)
        assert record.expires_at - engine.now() > timedelta(days=399)
    store = SessionStore()
    store["a"] = 1
    store.set_expiry(-3600)
    store.save()
    assert SessionStore(store.session_key).load() == {}


def test_expiry_from_django_reaches_the_store(fresh_path):
    store = SessionStore()
    store["a"] = 1
    store.set_expiry(600)
    store.save()
    record = get_engine().load(store.session_key)
    assert abs(record.expires_at - store.get_expiry_date()) < timedelta(seconds=2)


def test_clearsessions_removes_expired_sessions_by_the_engine_clock(tmp_path):
    settings = dict(SESSILE_PATH=str(tmp_path / "clock.db"), SESSILE_OPTIONS={"manual_clock": True})
    with override_settings(**settings):
        live, short = SessionStore(), SessionStore()
        live["a"] = 1
        live.save()
        short["b"] = 1
        short.set_expiry(60)
        short.save()
        get_engine().advance_clock(timedelta(minutes=2))
        management.call_command("clearsessions")
        assert live.exists(live.session_key)
        assert not short.exists(short.session_key)
        get_engine().advance_clock(timedelta(weeks=3))
        SessionStore.clear_expired()
        assert not live.exists(live.session_key)


def test_async_variants(fresh_path):
    async def flow():
        store = SessionStore()
        await store.aset("a", 1)
        await store.asave()
        key = store.session_key
        assert await store.aexists(key)
        other = SessionStore(key)
        assert await other.aload() == {"a": 1}
        await other.acycle_key()
        assert not await store.aexists(key)
        await other.adelete()
        assert not await other.aexists(other.session_key)
        await SessionStore.aclear_expired()

    asyncio.run(flow())


def test_only_changed_keys_are_saved(fresh_path):
    a = SessionStore()
    a["seed"] = 0
    a.save()
    key = a.session_key
    a_view, b_view = SessionStore(key), SessionStore(key)
    a_view.load(), b_view.load()
    a_view["from_a"] = 1
    b_view["from_b"] = 2
    del b_view["seed"]
    a_view.save()
    b_view.save()
    assert SessionStore(key).load() == {"from_a": 1, "from_b": 2}


def test_parallel_requests_through_middleware_keep_both_keys(fresh_path):
    client = Client()
    client.get("/set/seed/1/")
    cookie = client.cookies["sessionid"].value
    names = [f"tab{i}" for i in range(4)]
    django_urls.parallel_barrier = threading.Barrier(len(names))
    statuses = []

    def request(name):
        tab = Client()
        tab.cookies["sessionid"] = cookie
        statuses.append(tab.get(f"/parallel/{name}/").status_code)

    try:
        threads = [threading.Thread(target=request, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        django_urls.parallel_barrier = None
    assert statuses == [200] * len(names)
    data = client.get("/show/").json()["data"]
    assert data == {"seed": "1", **{n: True for n in names}}


def test_logout_in_another_tab_gives_400_and_no_resurrection(fresh_path):
    client = Client()
    client.get("/set/a/1/")
    key = client.cookies["sessionid"].value
    response = client.get("/logout-elsewhere/")
    assert response.status_code == 400
    assert not get_engine().exists(key)


def test_a_login_after_a_logout_in_another_tab_gives_400_and_no_resurrection(fresh_path):
    client = Client()
    client.get("/set/a/1/")
    key = client.cookies["sessionid"].value
    response = client.get("/login-after-logout-elsewhere/")
    assert response.status_code == 400
    assert not get_engine().exists(key)
    assert _count() == 0


def _count():
    """How many sessions the store holds (a new key would show here)."""
    return get_engine().count()


def test_cycle_key_of_a_session_logged_out_elsewhere_is_interrupted(fresh_path):
    login = SessionStore()
    login["user_id"] = 42
    login.save()
    key = login.session_key
    tab_a = SessionStore(key)
    assert tab_a["user_id"] == 42
    SessionStore(key).flush()  # tab B logs out
    with pytest.raises(SessionInterrupted):
        tab_a.cycle_key()
    assert tab_a.session_key == key
    with pytest.raises(UpdateError):
        tab_a.save()
    assert _count() == 0


def test_async_cycle_key_of_a_session_logged_out_elsewhere_is_interrupted(fresh_path):
    # Django's alogin() calls acycle_key(), whose SessionBase version copies
    # the data to a new key whether or not the session is still there.
    login = SessionStore()
    login["user_id"] = 42
    login.save()
    key = login.session_key
    tab_a = SessionStore(key)
    assert asyncio.run(tab_a.aget("user_id")) == 42
    SessionStore(key).flush()  # tab B logs out
    with pytest.raises(SessionInterrupted):
        asyncio.run(tab_a.acycle_key())
    assert tab_a.session_key == key
    assert _count() == 0


def test_async_cycle_key_moves_the_session(fresh_path):
    first = SessionStore()
    first["a"] = 1
    first.save()
    key = first.session_key
    s = SessionStore(key)
    asyncio.run(s.acycle_key())
    assert s.session_key != key
    assert not get_engine().exists(key)
    assert SessionStore(s.session_key)["a"] == 1


def test_cycle_key_keeps_what_another_request_saved_meanwhile(fresh_path):
    first = SessionStore()
    first["a"] = 1
    first.save()
    key = first.session_key
    tab_a = SessionStore(key)
    assert tab_a["a"] == 1
    tab_b = SessionStore(key)
    tab_b["b"] = 2
    tab_b.save()
    tab_a["c"] = 3
    tab_a.cycle_key()
    assert tab_a.session_key != key and not tab_a.exists(key)
    assert SessionStore(tab_a.session_key).load() == {"a": 1, "b": 2, "c": 3}
    tab_a["d"] = 4
    tab_a.save()
    assert SessionStore(tab_a.session_key).load() == {"a": 1, "b": 2, "c": 3, "d": 4}


def test_emptied_session_is_still_saved_and_flush_deletes_cookie(fresh_path):
    client = Client()
    client.get("/set/foo/bar/")
    key = client.cookies["sessionid"].value
    store = SessionStore(key)
    store.load()
    del store["foo"]
    store.save()
    assert SessionStore(key).load() == {} and store.exists(key)
    response = client.get("/flush/")
    assert response.cookies["sessionid"]["max-age"] == 0
    assert not store.exists(key)
