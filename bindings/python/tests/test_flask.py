"""sessile.flask through Flask's test client: the cookie holds only the key,
Flask's cookie settings and PERMANENT_SESSION_LIFETIME are honoured, saves
send only changed keys, a logout elsewhere is not undone, and the documented
differences from Flask's signed-cookie sessions (no SECRET_KEY needed; a new
SECRET_KEY logs nobody out, Engine.delete_all does), "sign out other
devices" through the owner index, and an interface on a shared engine
refusing settings it would ignore. Flask's own suite runs against it too:
tests/flask_upstream.py."""

from datetime import timedelta

import pytest
from flask import Flask, session

import sessile
from sessile.flask import SessileSessionInterface


@pytest.fixture
def app(tmp_path):
    app = Flask(__name__)
    app.session_interface = SessileSessionInterface(str(tmp_path / "flask.db"))

    @app.get("/visit")
    def visit():
        session["visits"] = session.get("visits", 0) + 1
        return str(session["visits"])

    @app.post("/login/<name>")
    def login(name):
        session.clear()
        session["user"] = name
        session.permanent = True
        return "ok"

    @app.post("/logout")
    def logout():
        session.clear()
        return "bye"

    @app.get("/set/<name>")
    def set_name(name):
        session[name] = True
        return "ok"

    @app.get("/peek")
    def peek():
        return dict(session)

    yield app
    app.session_interface.engine.close()


def cookie_of(client, app):
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"])


def test_visits_are_counted_server_side(app):
    client = app.test_client()
    assert [client.get("/visit").text for _ in range(3)] == ["1", "2", "3"]
    key = cookie_of(client, app).value
    assert sessile.is_valid_key(key)
    assert app.session_interface.engine.load(key).data == {"visits": 3}


def test_untouched_session_sets_no_cookie(app):
    client = app.test_client()
    response = client.get("/peek")
    assert "Set-Cookie" not in response.headers


def test_a_request_that_never_touches_the_session_leaves_it_unaccessed(app):
    # As with Flask's own session: `accessed` (and so `Vary: Cookie`) means
    # the application reached the session, not that the interface read it
    # while saving (should_set_cookie asks `permanent`).
    seen = []
    interface = app.session_interface
    save = interface.save_session

    def recording_save(app_, session_, response):
        save(app_, session_, response)
        seen.append(session_.accessed)

    interface.save_session = recording_save

    @app.get("/plain")
    def plain():
        return "no session here"

    client = app.test_client()
    client.get("/visit")
    response = client.get("/plain")
    assert seen == [True, False]
    assert "Cookie" not in response.headers.get("Vary", "")


def test_logout_deletes_record_and_cookie(app):
    client = app.test_client()
    client.post("/login/alice")
    key = cookie_of(client, app).value
    response = client.post("/logout")
    assert "Expires=Thu, 01 Jan 1970" in response.headers["Set-Cookie"]
    assert cookie_of(client, app) is None
    assert not app.session_interface.engine.exists(key)


def test_cookie_settings_are_honoured(app):
    app.config.update(SESSION_COOKIE_NAME="sid", SESSION_COOKIE_DOMAIN="example.test",
                      SESSION_COOKIE_PATH="/app", SESSION_COOKIE_SECURE=True,
                      SESSION_COOKIE_HTTPONLY=False, SESSION_COOKIE_SAMESITE="Strict")
    header = app.test_client().get("/visit").headers["Set-Cookie"]
    assert header.startswith("sid=")
    assert "Domain=example.test" in header and "Path=/app" in header
    assert "Secure" in header and "HttpOnly" not in header and "SameSite=Strict" in header


def test_permanent_session_lifetime_sets_cookie_and_store_expiry(app):
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=30)
    client = app.test_client()
    header = client.post("/login/bob").headers["Set-Cookie"]
    assert "Expires=" in header
    record = app.session_interface.engine.load(cookie_of(client, app).value)
    assert record.expiry.kind == "at"
    remaining = record.expires_at_ms - app.session_interface.engine.now_ms()
    # The deadline comes from Flask's wall-clock datetime (rounded to the
    # millisecond), the engine's clock is read afterwards: allow the rounding.
    assert 29 * 60_000 < remaining <= 30 * 60_000 + 1_000
    # A non-permanent session gets a browser-session cookie.
    assert "Expires=" not in app.test_client().get("/visit").headers["Set-Cookie"]


def test_parallel_requests_keep_both_keys(app):
    client = app.test_client()
    client.get("/set/seed")
    key = cookie_of(client, app).value
    interface = app.session_interface
    # Two requests load the same session, then each saves its own change.
    with app.test_request_context("/", headers={"Cookie": f"session={key}"}):
        from flask import request
        first = interface.open_session(app, request)
        second = interface.open_session(app, request)
        first["a"] = 1
        second["b"] = 2
        for s in (first, second):
            interface.save_session(app, s, app.response_class())
    assert interface.engine.load(key).data == {"seed": True, "a": 1, "b": 2}


def test_save_after_logout_elsewhere_is_not_resurrected(app):
    client = app.test_client()
    client.get("/visit")
    key = cookie_of(client, app).value
    interface = app.session_interface
    with app.test_request_context("/", headers={"Cookie": f"session={key}"}):
        from flask import request
        stale = interface.open_session(app, request)
        interface.engine.delete(key)
        stale["visits"] = 99
        response = app.response_class()
        interface.save_session(app, stale, response)
    assert not interface.engine.exists(key)
    assert "Expires=Thu, 01 Jan 1970" in response.headers["Set-Cookie"]


def test_forged_cookie_gets_a_fresh_session(app):
    client = app.test_client()
    client.set_cookie("session", "forged-value")
    assert client.get("/visit").text == "1"
    assert cookie_of(client, app).value != "forged-value"


def test_values_come_back_as_the_types_flask_keeps(app):
    # Flask's own session (its tagged JSON) keeps tuples, bytes, Markup,
    # UUID and datetime; so does sessile.flask. Flashed messages are
    # (category, message) tuples.
    import uuid
    from datetime import datetime, timezone

    from flask import flash, get_flashed_messages
    from markupsafe import Markup

    values = {
        "pair": (1, "two"),
        "raw": b"\x00\xffbytes",
        "html": Markup("<b>bold</b>"),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "when": datetime(2026, 12, 6, 8, 30, tzinfo=timezone.utc),
        "nested": {"inner": (3, b"\x01")},
        "tag_like": {" t": "a key that looks like a tag"},
    }

    @app.get("/store-types")
    def store_types():
        session.update(values)
        flash("saved", "info")
        return "ok"

    @app.get("/read-types")
    def read_types():
        got = {k: session[k] for k in values}
        assert got == values
        assert all(type(got[k]) is type(v) for k, v in values.items())
        assert type(got["nested"]["inner"]) is tuple
        assert get_flashed_messages(with_categories=True) == [("info", "saved")]
        return "same"

    @app.get("/read-one")
    def read_one():
        return str(session["pair"])

    app.config["PROPAGATE_EXCEPTIONS"] = True
    client = app.test_client()
    client.get("/store-types")
    assert client.get("/read-types").text == "same"
    # A session read but not changed is not rewritten: its values, tagged
    # again, compare equal to what is stored.
    key = cookie_of(client, app).value
    before = app.session_interface.engine.load_raw(key)
    assert client.get("/read-one").text == "(1, 'two')"
    assert app.session_interface.engine.load_raw(key) == before


def test_non_serialisable_value_is_a_type_error(app):
    @app.get("/bad")
    def bad():
        session["obj"] = object()
        return "never"

    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(TypeError, match="session key 'obj'"):
        app.test_client().get("/bad")


def test_a_lifetime_over_400_days_keeps_the_record_400_days(app):
    # Browsers keep a cookie 400 days at most; the engine refuses a later
    # date, so the interface cuts the record's lifetime to that.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=3650)
    client = app.test_client()
    assert client.post("/login/ada").text == "ok"
    engine = app.session_interface.engine
    record = engine.load(cookie_of(client, app).value)
    assert timedelta(days=399) < record.expires_at - engine.now() <= timedelta(days=400)


def test_a_session_works_without_secret_key(app):
    # Nothing is signed: the cookie holds a random key, the data stays here.
    assert app.secret_key is None
    client = app.test_client()
    assert [client.get("/visit").text for _ in range(2)] == ["1", "2"]


def test_rotating_secret_key_keeps_sessions_and_delete_all_logs_everyone_out(app):
    # The README's recipe: a new SECRET_KEY does not log anyone out of a
    # server-side session; deleting every session does, cookie or not.
    app.secret_key = "old"
    alice, bob = app.test_client(), app.test_client()
    alice.post("/login/alice")
    bob.post("/login/bob")
    app.secret_key = "new"
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert alice.get("/peek").json["user"] == "alice"
    assert app.session_interface.engine.delete_all() == 2
    assert alice.get("/peek").json == {} and bob.get("/peek").json == {}
    # The stale cookie names no session: the next save starts a new one.
    assert alice.get("/visit").text == "1"
    assert cookie_of(alice, app).value != cookie_of(bob, app).value


def test_signing_out_other_devices_empties_their_sessions(tmp_path):
    app = Flask(__name__)
    interface = app.session_interface = SessileSessionInterface(str(tmp_path / "owners.db"), owner_key="user")

    @app.post("/login/<name>")
    def login(name):
        session["user"] = name
        return "ok"

    @app.get("/whoami")
    def whoami():
        return {"user": session.get("user")}

    @app.post("/sign-out-other-devices")
    def sign_out_other_devices():
        return {"ended": interface.end_sessions_of(session["user"], except_key=session.key)}

    phone, laptop, tablet = (app.test_client() for _ in range(3))
    for client in (phone, laptop, tablet):
        client.post("/login/ann")
    app.test_client().post("/login/bob")
    assert len(interface.sessions_of("ann")) == 3

    assert tablet.post("/sign-out-other-devices").json == {"ended": 2}
    assert phone.get("/whoami").json == {"user": None}
    assert laptop.get("/whoami").json == {"user": None}
    assert tablet.get("/whoami").json == {"user": "ann"}
    assert [s.key for s in interface.sessions_of("ann")] == [cookie_of(tablet, app).value]
    assert len(interface.sessions_of("bob")) == 1
    interface.engine.close()


def test_an_interface_on_a_shared_engine_refuses_settings_it_would_ignore(tmp_path):
    engine = sessile.Engine(str(tmp_path / "shared.db"))
    try:
        with pytest.raises(sessile.InvalidArgument, match="owner_key cannot be given with engine="):
            SessileSessionInterface(engine=engine, owner_key="_user_id")
        with pytest.raises(sessile.InvalidArgument, match="path cannot be given with engine="):
            SessileSessionInterface(str(tmp_path / "other.db"), engine=engine)
        assert SessileSessionInterface(engine=engine).engine is engine
        assert SessileSessionInterface(engine=engine, owner_key=None).engine is engine
    finally:
        engine.close()
