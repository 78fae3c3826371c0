"""The Pythonic API over the C ABI: engines, the store level, dict-like
sessions, expiry by the manual clock, errors that mirror result codes."""

import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import pytest

import sessile
from sessile import _engine


def test_abi_version_is_checked_at_import():
    assert _engine.lib.sessile_abi_version() == _engine.lib.SESSILE_ABI_VERSION == sessile.ABI_VERSION
    with pytest.raises(sessile.AbiMismatch, match="ABI version mismatch.*speaks ABI 2.*SESSILE_ABI_VERSION 1"):
        _engine.check_abi(2, 1)
    with pytest.raises(ImportError):
        _engine.check_abi(1, 1, expected=3)


def test_library_version_matches_package():
    assert sessile.__version__ == sessile.LIBRARY_VERSION
    assert sessile.LIBRARY_VERSION.count(".") == 2


def test_store_round_trip_of_messagepack_values(engine):
    data = {"int": 7, "neg": -3, "float": 1.5, "str": "héllo", "bytes": b"\x00\xff", "none": None,
            "bool": True, "list": [1, "a", [2]], "map": {"nested": {"x": 1}}, "big": 2**63}
    key = engine.create(data, expiry=60)
    assert sessile.is_valid_key(key)
    record = engine.load(key)
    assert record.data == data
    assert record.expiry == sessile.Expiry.seconds(60)
    assert record.expires_at_ms == engine.now_ms() + 60_000


def test_tuples_come_back_as_lists(engine):
    key = engine.create({"t": (1, 2)})
    assert engine.load(key).data == {"t": [1, 2]}


def test_save_delta_keeps_keys_other_writers_stored(engine):
    key = engine.create({"a": 1, "b": 2})
    engine.save_delta(key, {"c": 3}, ["a"])
    engine.save_delta(key, {"d": 4})
    assert engine.load(key).data == {"b": 2, "c": 3, "d": 4}
    engine.save_delta(key, {"e": 5}, clear=True)
    assert engine.load(key).data == {"e": 5}


def test_save_of_deleted_session_raises_session_deleted_and_writes_nothing(engine):
    key = engine.create({"a": 1})
    engine.delete(key)
    with pytest.raises(sessile.SessionDeleted):
        engine.save(key, {"a": 2})
    with pytest.raises(sessile.SessionDeleted):
        engine.save_delta(key, {"a": 2})
    assert not engine.exists(key)
    engine.save(key, {"a": 3}, upsert=True)
    assert engine.load(key).data == {"a": 3}


def test_load_never_creates(engine):
    key = sessile.generate_key()
    with pytest.raises(sessile.NotFound):
        engine.load(key)
    assert engine.get(key) is None
    assert not engine.exists(key)
    with pytest.raises(sessile.InvalidKey):
        engine.load("not-a-key")
    assert not engine.exists("not-a-key")


def test_expired_session_is_never_returned_and_is_swept(engine):
    short = engine.create({"a": 1}, expiry=10)
    at = engine.create({"b": 1}, expiry=engine.now() + timedelta(minutes=5))
    default = engine.create({"c": 1})
    engine.advance_clock(timedelta(seconds=11))
    assert engine.get(short) is None and engine.exists(at)
    engine.advance_clock(timedelta(minutes=5))
    assert engine.get(at) is None and engine.exists(default)
    assert engine.clear_expired() == 2
    assert engine.clear_expired() == 0


def test_delete_all_logs_everyone_out_expired_sessions_included(engine):
    live = [engine.create({"user": n}) for n in range(3)]
    engine.create({"gone": True}, expiry=10)
    engine.advance_clock(timedelta(seconds=11))
    assert engine.count() == 3  # live ones only
    assert engine.delete_all() == 4  # the expired one was not swept yet
    assert engine.count() == 0 and not any(engine.exists(k) for k in live)
    # A request that loaded a session before cannot save it back.
    with pytest.raises(sessile.SessionDeleted):
        engine.save(live[0], {"user": 0})
    assert engine.delete_all() == 0


def test_touch_extends_and_does_not_create(engine):
    key = engine.create({"a": 1}, expiry=10)
    engine.advance_clock(8000)
    engine.touch(key)
    engine.advance_clock(8000)
    assert engine.exists(key)
    with pytest.raises(sessile.NotFound):
        engine.touch(sessile.generate_key())


def test_engine_is_a_context_manager_and_closes(db_path):
    with sessile.open(db_path) as engine:
        key = engine.create({"a": 1})
    assert engine.closed
    with pytest.raises(sessile.Closed):
        engine.load(key)
    engine.close()  # a second close is fine


def test_reopening_after_close_sees_the_data(db_path):
    engine = sessile.open(db_path)
    key = engine.create({"kept": "yes"}, durable=True)
    engine.close()
    with sessile.open(db_path) as again:
        assert again.load(key).data == {"kept": "yes"}


def test_compression_is_fixed_when_the_database_is_created(db_path):
    with sessile.open(db_path, compression=True) as engine:
        key = engine.create({"kept": "yes"}, durable=True)
    with pytest.raises(sessile.InvalidArgument, match="created with compression"):
        sessile.open(db_path, compression=False)
    with sessile.open(db_path) as again:  # unset: follows the database
        assert again.load(key).data == {"kept": "yes"}


def test_another_process_holding_the_directory_is_locked(db_path):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, sessile; e = sessile.open(sys.argv[1]); print('ready', flush=True); sys.stdin.read()",
         db_path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(sessile.Locked) as info:
            sessile.open(db_path)
        assert isinstance(info.value, OSError) and info.value.code == 11
        # What `gunicorn -w 2`'s second worker logs on every request: the
        # library's message as it is, naming the holder and the way out.
        message = str(info.value)
        assert f"(pid {holder.pid})" in message
        assert "one process at a time" in message
        assert "SESSILE_URL=redis://" in message and "one worker with threads" in message
    finally:
        holder.communicate("", timeout=30)


def test_a_file_or_a_project_folder_is_not_a_database(tmp_path):
    project = tmp_path / "mysite"
    project.mkdir()
    (project / "manage.py").write_text("")
    for path in (project / "manage.py", project):
        with pytest.raises(sessile.NotADatabase, match="is not a sessile database") as info:
            sessile.open(str(path))
        assert info.value.code == 18 and isinstance(info.value, OSError)
    assert [p.name for p in project.iterdir()] == ["manage.py"]
    # A missing or an empty directory becomes a database.
    (tmp_path / "empty").mkdir()
    for path in (tmp_path / "empty", tmp_path / "new" / "nested"):
        with sessile.open(str(path)) as engine:
            engine.create({"a": 1})


def test_unknown_option_is_a_type_error(db_path):
    with pytest.raises(TypeError, match="unknown option.*colour"):
        sessile.open(db_path, colour="blue")


def test_bad_option_value_is_invalid_argument(db_path):
    with pytest.raises(sessile.InvalidArgument):
        sessile.open(db_path, cookie_age=-1)
    with pytest.raises(sessile.InvalidArgument):
        sessile.open(db_path, cookie_name="bad name;")


def test_memory_engine(tmp_path):
    with sessile.open(memory=True) as engine:
        key = engine.create({"a": 1})
        assert engine.load(key).data == {"a": 1}


def test_session_behaves_like_a_dict(engine):
    session = engine.session()
    assert session.key is None and not session.accessed
    session["a"] = 1
    session.update({"b": [1, 2], "c": "x"})
    assert session.setdefault("d", 4) == 4
    assert session.pop("c") == "x"
    assert "a" in session and "c" not in session and 5 not in session
    assert len(session) == 3 and sorted(session) == ["a", "b", "d"]
    assert session.get("missing", "dflt") == "dflt"
    with pytest.raises(KeyError):
        session["missing"]
    with pytest.raises(KeyError):
        del session["missing"]
    assert session.to_dict() == {"a": 1, "b": [1, 2], "d": 4}
    assert session.modified
    session.save()
    assert sessile.is_valid_key(session.key)
    again = engine.session(session.key)
    assert dict(again) == {"a": 1, "b": [1, 2], "d": 4}


def test_session_cycle_key_and_flush(engine):
    session = engine.session()
    session["user"] = "alice"
    session.save()
    old = session.key
    session.cycle_key()
    assert session.key != old and not engine.exists(old)
    assert engine.load(session.key).data == {"user": "alice"}
    new = session.key
    session.flush()
    assert session.key is None and session.is_empty() and not engine.exists(new)


def test_session_expiry_forms(engine):
    session = engine.session()
    session["a"] = 1
    session.set_expiry(300)
    assert session.get_expiry_age() == 300 and session.get_expiry() == sessile.Expiry.seconds(300)
    session.set_expiry(timedelta(minutes=2))
    assert session.get_expiry_age() == 120
    session.set_expiry(0)
    assert session.get_expire_at_browser_close()
    when = engine.now() + timedelta(hours=1)
    session.set_expiry(when)
    assert session.get_expiry_date() == when.replace(microsecond=when.microsecond // 1000 * 1000)
    session.set_expiry(None)
    assert session.get_expiry_age() == session.get_session_cookie_age() == 1209600
    with pytest.raises(TypeError):
        session.set_expiry("soon")


def test_expiry_kinds_are_an_enum_equal_to_the_strings_they_were(engine):
    kind = engine.load(engine.create({}, expiry=60)).expiry.kind
    assert kind is sessile.ExpiryKind.SECONDS and kind == "seconds" and f"{kind}" == "seconds"
    assert [k.value for k in sessile.ExpiryKind] == ["default", "browser_close", "seconds", "at", "keep"]
    # A policy made with the string is the same policy.
    assert sessile.Expiry("seconds", 60) == sessile.Expiry.seconds(60)
    at = engine.now_ms() + 5_000
    assert engine.load(engine.create({}, expiry=sessile.Expiry("at", at))).expiry == sessile.Expiry.at(at)
    with pytest.raises(ValueError, match="unknown expiry kind 'weekly'"):
        engine.create({}, expiry=sessile.Expiry("weekly"))


def test_set_expiry_refuses_what_is_outside_one_second_to_400_days(engine):
    session = engine.session()
    session["a"] = 1
    session.set_expiry(300)
    now = engine.now()
    for bad in (-1, -(10**30), sessile.MAX_AGE_S + 1, 10**30,
                timedelta(seconds=-1), timedelta(0), timedelta(days=401), timedelta.max,
                now - timedelta(seconds=1), now, now + timedelta(days=400, seconds=1)):
        with pytest.raises(sessile.InvalidArgument, match="400 days") as info:
            session.set_expiry(bad)
        assert isinstance(info.value, ValueError), bad
        assert session.get_expiry() == sessile.Expiry.seconds(300), bad
    with pytest.raises(ValueError, match="expiry seconds .* not -1"):
        session.set_expiry(-1)
    # The ends of the range.
    session.set_expiry(1)
    session.set_expiry(sessile.MAX_AGE_S)
    session.set_expiry(timedelta(days=400))
    session.set_expiry(now + timedelta(days=400))
    response = session.end_request(200)
    assert "Max-Age=-" not in response.set_cookie and "Max-Age=34560000" in response.set_cookie


def test_the_manual_clock_stops_at_its_ends(engine):
    end = 253402300799999  # the end of the year 9999, in ms
    engine.advance_clock(2**63 - 1)
    assert engine.now_ms() == end
    engine.advance_clock(timedelta.max)
    assert engine.now_ms() == end
    engine.advance_clock(-(2**70))
    assert engine.now_ms() == 0
    for bad in (-1, -(2**63), 2**70):
        with pytest.raises(sessile.InvalidArgument, match="now_ms"):
            engine.set_clock(bad)
    assert engine.now_ms() == 0


def test_request_helpers_follow_django_middleware(engine):
    session = engine.begin_request(None)
    session["visits"] = 1
    response = session.end_request(200)
    assert response.saved and response.vary_cookie
    assert response.set_cookie.startswith(f"sessionid={session.key};")
    cookie = response.set_cookie.split(";")[0]
    again = engine.begin_request(f"other=1; {cookie}")
    assert again["visits"] == 1
    again.flush()
    gone = again.end_request(302)
    assert "Max-Age=0" in gone.set_cookie


def test_test_cookie(engine):
    session = engine.session()
    session.set_test_cookie()
    session.save()
    assert engine.session(session.key).test_cookie_worked()


def test_closed_session_raises_closed(engine):
    session = engine.session()
    session.close()
    with pytest.raises(sessile.Closed):
        session["a"] = 1
    session.close()


def test_non_serialisable_value_is_a_clear_type_error(engine):
    with pytest.raises(TypeError, match="session key 'when'.*datetime.*MessagePack"):
        engine.create({"when": datetime.now(timezone.utc)})
    session = engine.session()
    with pytest.raises(TypeError, match="session key 'obj'.*object"):
        session["obj"] = object()
    with pytest.raises(TypeError, match="session keys must be str"):
        engine.create({1: "x"})
    with pytest.raises(TypeError, match="session keys must be str"):
        session[1] = "x"


def test_errors_mirror_result_codes():
    assert sessile.NotFound.code == 7 and issubclass(sessile.NotFound, KeyError)
    assert sessile.TooLarge.code == 6 and issubclass(sessile.TooLarge, ValueError)
    assert sessile.SessionDeleted.code == 8 and sessile.Locked.code == 11
    assert sessile.InvalidKey.code == 4 and sessile.Panic.code == 15
    assert sessile.NotADatabase.code == 18 and issubclass(sessile.NotADatabase, OSError)
    for code, cls in _engine.BY_CODE.items():
        assert issubclass(cls, sessile.SessileError)
        name = _engine.ffi.string(_engine.lib.sessile_result_name(code)).decode()
        assert name == cls.name


def test_engine_is_thread_safe_and_parallel_deltas_keep_every_key(engine):
    key = engine.create({})
    barrier = threading.Barrier(8)
    errors = []

    def writer(n):
        try:
            barrier.wait(timeout=30)
            for i in range(50):
                engine.save_delta(key, {f"t{n}-{i}": i})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(engine.load(key).data) == 8 * 50


def test_cycle_key_moves_the_stored_data_and_never_a_deleted_session(engine):
    key = engine.create({"a": 1})
    seen = engine.load_raw(key)
    engine.save_delta(key, {"b": 2})  # another request, meanwhile
    new = engine.cycle_key(key, seen, {"a": 5})
    assert new != key and not engine.exists(key)
    assert engine.load(new).data == {"a": 5, "b": 2}
    newer = engine.cycle_key(new)  # no data: moves as stored
    assert engine.load(newer).data == {"a": 5, "b": 2}
    engine.delete(newer)  # a logout in another tab
    with pytest.raises(sessile.SessionDeleted):
        engine.cycle_key(newer, seen, {"a": 6})
    assert not engine.exists(newer)


def test_a_session_logged_out_in_another_tab_stays_out_after_cycle_key(engine):
    login = engine.begin_request(None)
    login["user_id"] = 42
    cookie = login.end_request(200).set_cookie.split(";")[0]
    tab_a = engine.begin_request(cookie)
    assert tab_a["user_id"] == 42
    tab_b = engine.begin_request(cookie)
    tab_b.flush()
    tab_b.end_request(200)
    with pytest.raises(sessile.SessionDeleted):
        tab_a.cycle_key()
    tab_a["user_id"] = 42
    with pytest.raises(sessile.SessionDeleted):
        tab_a.end_request(200)
    assert engine.begin_request(cookie).get("user_id") is None
