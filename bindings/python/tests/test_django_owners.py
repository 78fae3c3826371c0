"""Log out everywhere in Django (issue 23), through real requests on
SESSION_ENGINE = "sessile.django" with "sessile.django" installed as an app.

It guards what a signed-in user notices: "sign out other devices" leaves the
other devices anonymous (a new session when they write) and this one signed
in; a password change through Django's own PasswordChangeView, under WSGI
and ASGI, ends every other session of that user and keeps the changer
signed in (its session moved to a new key by update_session_auth_hash); a
password set outside a request (a management command, the shell) ends them
all, and one set by an administrator's request ends them all but leaves the
administrator's; saves that store no new password end nothing; the owner
key is django.contrib.auth's SESSION_KEY unless a setting names another;
and the receiver can be turned off.
"""

import contextvars
import io

import pytest
from asgiref.sync import async_to_sync
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.core import management
from django.test import AsyncClient, Client, override_settings

import sessile
from sessile.django import (
    SessionStore,
    end_all_sessions,
    end_other_sessions,
    get_engine,
    owner_key,
    sessions_of,
)

pytestmark = pytest.mark.django_db

PASSWORD = "first-password"


class NewerHasher(MD5PasswordHasher):
    """A hasher preferred over the one the passwords were stored with: a
    login then re-hashes the password (check_password's upgrade)."""

    algorithm = "md5-newer"


@pytest.fixture
def fresh_path(tmp_path):
    """A database of this test's own: no session of an earlier test's user
    (user ids repeat once the test database rolls back) is listed."""
    with override_settings(SESSILE_PATH=str(tmp_path / "django.db")):
        yield str(tmp_path / "django.db")


@pytest.fixture
def ann(fresh_path):
    return get_user_model().objects.create_user("ann", password=PASSWORD)


def signed_in(username="ann", n=1):
    """n clients signed in through LoginView, as n devices."""
    clients = []
    for _ in range(n):
        client = Client()
        response = client.post("/login/", {"username": username, "password": PASSWORD})
        assert response.status_code == 302, response
        clients.append(client)
    return clients


def key_of(client):
    return client.cookies["sessionid"].value


def whoami(client, write=False):
    return client.get("/whoami/?write=1" if write else "/whoami/").json()


def keys_of(user):
    return {s.key for s in sessions_of(user)}


def assert_signed_out(client, old_key):
    assert whoami(client) == {"user": None, "key": None}
    assert not get_engine().exists(old_key)
    # Its next write makes a new session, which nobody owns.
    whoami(client, write=True)
    assert key_of(client) != old_key
    assert SessionStore(key_of(client)).load() == {"wrote": True}


def test_the_owner_key_is_django_auths_session_key(fresh_path):
    assert owner_key() == auth.SESSION_KEY == "_auth_user_id"
    assert get_engine().options["owner_key"] == "_auth_user_id"


def test_signing_out_other_devices_leaves_them_anonymous_and_this_one_signed_in(ann):
    phone, laptop, tablet = signed_in(n=3)
    assert keys_of(ann) == {key_of(phone), key_of(laptop), key_of(tablet)}
    old_phone, old_laptop, kept = key_of(phone), key_of(laptop), key_of(tablet)

    assert tablet.post("/sign-out-other-devices/").json() == {"ended": 2}

    assert_signed_out(phone, old_phone)
    assert_signed_out(laptop, old_laptop)
    assert whoami(tablet) == {"user": "ann", "key": kept}
    assert keys_of(ann) == {kept}
    assert tablet.get("/active-sessions/").json()["sessions"][0]["current"] is True


def test_a_device_signed_out_mid_request_cannot_save_its_session_back(ann):
    phone, tablet = signed_in(n=2)
    old_phone = key_of(phone)
    response = phone.get(f"/signed-out-while-writing/{key_of(tablet)}/")
    assert response.status_code == 400  # SessionInterrupted, as after a logout in another tab
    assert not get_engine().exists(old_phone)
    assert keys_of(ann) == {key_of(tablet)}


def test_password_change_view_ends_every_other_session_and_keeps_the_changer(ann):
    phone, laptop, tablet = signed_in(n=3)
    old_phone, old_laptop, old_tablet = key_of(phone), key_of(laptop), key_of(tablet)

    response = tablet.post("/password_change/", {
        "old_password": PASSWORD, "new_password1": "second-password", "new_password2": "second-password",
    })
    assert response.status_code == 302, response

    # update_session_auth_hash moved the changer's session to a new key.
    assert key_of(tablet) != old_tablet
    assert whoami(tablet) == {"user": "ann", "key": key_of(tablet)}
    assert keys_of(ann) == {key_of(tablet)}
    assert not get_engine().exists(old_tablet)
    assert_signed_out(phone, old_phone)
    assert_signed_out(laptop, old_laptop)


def test_password_change_view_through_asgi_keeps_the_changer(ann):
    phone, _ = signed_in(n=2)

    async def change_password():
        client = AsyncClient()
        assert await client.alogin(username="ann", password=PASSWORD)
        response = await client.post("/password_change/", {
            "old_password": PASSWORD, "new_password1": "second-password", "new_password2": "second-password",
        })
        assert response.status_code == 302, response
        return client, (await client.get("/whoami/")).json()

    client, me = async_to_sync(change_password)()
    assert me == {"user": "ann", "key": client.cookies["sessionid"].value}
    assert keys_of(ann) == {me["key"]}
    assert whoami(phone)["user"] is None


def test_only_the_context_that_changed_the_password_carries_its_session_on(ann):
    """A session ended by a password change comes back (on a new key) only
    through the cycle_key of the request that made the change: a request of
    the user's other device, holding its session meanwhile, cannot."""
    (phone,) = signed_in()
    elsewhere = SessionStore(key_of(phone))
    assert elsewhere.get("_auth_user_id") == str(ann.pk)  # loaded

    def change_in_another_request():
        ann.set_password("second-password")
        ann.save()

    # Each request runs in a context of its own (a thread's, an asyncio task's).
    contextvars.copy_context().run(change_in_another_request)
    assert sessions_of(ann) == []
    with pytest.raises(SessionInterrupted):
        elsewhere.cycle_key()
    with pytest.raises(UpdateError):
        elsewhere.save()
    assert sessions_of(ann) == []


def test_password_set_outside_a_request_ends_every_session(ann):
    phone, laptop = signed_in(n=2)
    assert len(sessions_of(ann)) == 2

    ann.set_password("second-password")
    ann.save()

    assert sessions_of(ann) == []
    assert whoami(phone)["user"] is None and whoami(laptop)["user"] is None


def test_changepassword_command_ends_every_session(ann, monkeypatch):
    signed_in(n=2)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "second-password")
    management.call_command("changepassword", "ann", stdout=io.StringIO())
    assert sessions_of(ann) == []


def test_a_password_changed_by_an_administrator_ends_all_of_that_users_sessions(ann):
    get_user_model().objects.create_user("root", password=PASSWORD)
    (admin,) = signed_in("root")
    signed_in(n=2)

    assert admin.get("/set-password/ann/").status_code == 200

    assert sessions_of(ann) == []
    assert whoami(admin)["user"] == "root"


def test_own_password_set_by_a_view_without_update_session_auth_hash_ends_that_session_too(ann):
    phone, tablet = signed_in(n=2)
    assert tablet.get("/set-password/ann/").status_code == 200
    # As Django's hash check has it: only update_session_auth_hash keeps a
    # session across a password change.
    assert sessions_of(ann) == []
    assert whoami(tablet)["user"] is None


def test_saves_that_change_no_password_end_nothing(ann):
    signed_in(n=2)
    ann.first_name = "Ann"
    ann.save()
    # set_password, but a save of other fields only: the new one is not stored.
    ann.set_password("second-password")
    ann.save(update_fields=["first_name"])
    # A login that upgrades the stored hash is no password change.
    with override_settings(PASSWORD_HASHERS=[
        "test_django_owners.NewerHasher", "django.contrib.auth.hashers.MD5PasswordHasher",
    ]):
        signed_in()
    ann.refresh_from_db()
    assert ann.password.startswith("md5-newer$")
    assert len(sessions_of(ann)) == 3


def test_the_receiver_can_be_turned_off(ann):
    signed_in(n=2)
    with override_settings(SESSILE_END_SESSIONS_ON_PASSWORD_CHANGE=False):
        ann.set_password("second-password")
        ann.save()
    assert len(sessions_of(ann)) == 2


def test_helpers_take_a_user_or_an_owner_and_ignore_anonymous_users(ann):
    signed_in(n=3)
    assert len(sessions_of(ann.pk)) == len(sessions_of(str(ann.pk))) == 3
    assert sessions_of(None) == [] and end_all_sessions(auth.models.AnonymousUser()) == 0

    class Request:
        user = auth.models.AnonymousUser()
        session = SessionStore()

    assert end_other_sessions(Request()) == 0
    assert end_all_sessions(ann) == 3
    assert sessions_of(ann) == []


def test_another_owner_key_by_setting(tmp_path):
    with override_settings(SESSILE_PATH=str(tmp_path / "own.db"), SESSILE_OWNER_KEY="account.id"):
        store = SessionStore()
        store["account"] = {"id": 7}
        store.save()
        assert [s.key for s in sessions_of(7)] == [store.session_key]
        assert get_engine().options["owner_key"] == "account.id"


def test_no_owner_key_is_a_sessile_error(tmp_path):
    with override_settings(SESSILE_PATH=str(tmp_path / "none.db"), SESSILE_OWNER_KEY=None):
        with pytest.raises(sessile.InvalidArgument):
            sessions_of("7")
        user = get_user_model().objects.create_user("bob", password=PASSWORD)
        user.set_password("second-password")
        user.save()  # the receiver stands aside without an owner key
