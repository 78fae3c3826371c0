"""The owner index from Python (issue 23): ``owner_key`` names the data key
of a session's owner, ``Engine.sessions_of`` lists an owner's sessions and
``Engine.end_sessions_of`` ends them ("log out everywhere").

It guards what the binding adds over the C ABI: an owner given as str or
int is one owner; listings decode as ``load`` does (data, Expiry, UTC
datetime), the one that expires last first; an ended session cannot be
saved back by a request that held it; the database remembers its owner
key; and the refusals map to sessile's exception classes (no owner key is
``InvalidArgument``, a bad ``except_key`` ``InvalidKey``, an owner of
another type ``TypeError``).
"""

from datetime import timedelta, timezone

import pytest

import sessile


@pytest.fixture
def owned(db_path):
    with sessile.open(db_path, owner_key="user_id", manual_clock=True, reaper_interval_ms=0) as engine:
        yield engine


def test_sessions_of_lists_an_owners_sessions_decoded_the_one_that_expires_last_first(owned):
    soon = owned.create({"user_id": 42, "device": "phone"}, expiry=60)
    later = owned.create({"user_id": "42", "device": "laptop"}, expiry=3600)
    owned.create({"user_id": 7})
    owned.create({"other": 42})

    listed = owned.sessions_of(42)
    assert [s.key for s in listed] == [later, soon]
    assert listed == owned.sessions_of("42")
    laptop = listed[0]
    assert isinstance(laptop, sessile.StoredSession)
    assert laptop.data == {"user_id": "42", "device": "laptop"}
    assert laptop.expiry == sessile.Expiry.seconds(3600)
    assert laptop.expires_at == owned.now() + timedelta(hours=1)
    assert laptop.expires_at.tzinfo is timezone.utc
    assert laptop.expires_at_ms == owned.load(later).expires_at_ms
    assert owned.sessions_of("nobody") == [] and owned.sessions_of("") == []


def test_expired_sessions_are_not_listed(owned):
    owned.create({"user_id": 1}, expiry=10)
    kept = owned.create({"user_id": 1}, expiry=3600)
    owned.advance_clock(timedelta(seconds=11))
    assert [s.key for s in owned.sessions_of(1)] == [kept]


def test_end_sessions_of_ends_all_but_one_and_they_cannot_be_saved_back(owned):
    phone = owned.create({"user_id": 42})
    laptop = owned.create({"user_id": 42})
    tablet = owned.create({"user_id": 42})
    other = owned.create({"user_id": 7})

    assert owned.end_sessions_of(42, except_key=tablet) == 2
    assert not owned.exists(phone) and not owned.exists(laptop)
    assert owned.exists(tablet) and owned.exists(other)
    # The phone's request in flight cannot bring its session back.
    with pytest.raises(sessile.SessionDeleted):
        owned.save_delta(phone, {"late": True})
    assert [s.key for s in owned.sessions_of("42")] == [tablet]

    assert owned.end_sessions_of("42") == 1
    assert owned.sessions_of(42) == [] and owned.exists(other)
    assert owned.end_sessions_of(42) == 0


def test_a_session_follows_its_owner_as_its_data_changes(owned):
    key = owned.create({"cart": [1]})
    assert owned.sessions_of(5) == []
    owned.save_delta(key, {"user_id": 5})  # login
    assert [s.key for s in owned.sessions_of(5)] == [key]
    owned.save_delta(key, remove=["user_id"])  # logout
    assert owned.sessions_of(5) == []


def test_a_dotted_owner_key_reaches_into_nested_maps(db_path):
    with sessile.open(db_path, owner_key="passport.user") as engine:
        key = engine.create({"passport": {"user": "ann"}})
        engine.create({"passport": "ann"})
        assert [s.key for s in engine.sessions_of("ann")] == [key]


def test_the_database_remembers_its_owner_key(db_path):
    with sessile.open(db_path, owner_key="user_id") as engine:
        key = engine.create({"user_id": 3})
    with sessile.open(db_path) as engine:
        assert [s.key for s in engine.sessions_of(3)] == [key]
        engine.create({"user_id": 3})
        assert len(engine.sessions_of(3)) == 2
    # Another key: the index is rebuilt by it.
    with sessile.open(db_path, owner_key="account") as engine:
        assert engine.sessions_of(3) == []
        assert [s.key for s in engine.sessions_of("x")] == []
        engine.create({"account": "x"})
        assert len(engine.sessions_of("x")) == 1


def test_without_an_owner_key_owner_calls_are_invalid_argument(engine):
    engine.create({"user_id": 42})
    with pytest.raises(sessile.InvalidArgument, match="owner"):
        engine.sessions_of(42)
    with pytest.raises(sessile.InvalidArgument, match="owner"):
        engine.end_sessions_of(42)
    with pytest.raises(ValueError):  # InvalidArgument is a ValueError too
        engine.sessions_of("42")


def test_bad_arguments_are_refused(owned, db_path):
    with pytest.raises(sessile.InvalidKey):
        owned.end_sessions_of(42, except_key="not-a-key")
    for owner in (None, 4.2, True, [42]):
        with pytest.raises(TypeError, match="owner must be str or int"):
            owned.sessions_of(owner)
    with pytest.raises(sessile.InvalidArgument):
        sessile.open(db_path + "-other", owner_key="a..b")
    with pytest.raises(sessile.InvalidArgument):
        sessile.open(db_path + "-other", owner_key="")
    owned.close()
    with pytest.raises(sessile.Closed):
        owned.sessions_of(42)
