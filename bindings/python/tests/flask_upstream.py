"""A pytest plugin that runs Flask's own test suite with every app on
``sessile.flask.SessileSessionInterface``.

Guards issue 21's "drop-in for Flask": whatever Flask's suite asserts about
sessions (test_basic.py's session and flashing tests, test_testing.py's
``session_transaction``, test_reqctx.py, ...) holds for sessile too, except
the differences a server-side store has on purpose, listed once in
``DIFFERENCES`` below and marked ``xfail(strict=True)``, so a difference that
disappears fails the run as well.

``make test`` downloads Flask's sdist (its tests/ and pyproject.toml, for its
pytest settings such as ``filterwarnings = error``) into the cache and runs,
from that directory::

    PYTHONPATH=bindings/python/tests python -m pytest -p flask_upstream tests

Flask's apps are made in its conftest's ``app`` fixture and in many tests
themselves (``flask.Flask(__name__)``), so the interface is set where Flask
keeps its default, the class attribute ``Flask.session_interface``; the tests
that install their own interface (test_session_interface.py, two in
test_reqctx.py) keep theirs. One sled database in a temporary directory
serves the whole run: every session has its own random key.
"""

from __future__ import annotations

import shutil
import tempfile

import _pytest.compat
import _pytest.monkeypatch
import flask
import pytest

from sessile.flask import SessileSessionInterface

# Flask 3.1.3's tests import ``notset`` from ``_pytest.monkeypatch``, which
# pytest 9 calls ``_pytest.compat.NOTSET`` (the same object's new name).
if not hasattr(_pytest.monkeypatch, "notset"):
    _pytest.monkeypatch.notset = _pytest.compat.NOTSET  # type: ignore[attr-defined]

# Flask's tests that fail on purpose with a server-side store: test id (as
# pytest prints it, relative to Flask's sdist directory) -> why. The README
# (bindings/python/README.md, "Flask") says the same to users.
DIFFERENCES: dict[str, str] = {
    "tests/test_basic.py::test_missing_session": (
        "a session works without SECRET_KEY: the cookie holds only a random key, nothing "
        "signed, so Flask's null session (RuntimeError 'session is unavailable') never appears"
    ),
    "tests/test_testing.py::test_session_transactions_no_null_sessions": (
        "a session works without SECRET_KEY, so session_transaction() opens one instead of "
        "raising 'Session backend did not open a session'"
    ),
    "tests/test_basic.py::test_session_secret_key_fallbacks": (
        "changing SECRET_KEY (or SECRET_KEY_FALLBACKS) does not invalidate server-side "
        "sessions; delete them to log everyone out (Engine.delete_all, sessile flush-all)"
    ),
}

_state: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    directory = tempfile.mkdtemp(prefix="sessile-flask-suite-")
    interface = SessileSessionInterface(f"{directory}/sessions.db")
    _state.update(directory=directory, interface=interface, default=flask.Flask.session_interface)
    flask.Flask.session_interface = interface


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ids = {item.nodeid for item in items}
    for item in items:
        reason = DIFFERENCES.get(item.nodeid)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
    # A listed test that its file no longer has (renamed upstream) is an
    # error, not a difference that silently stopped being checked.
    files = {nodeid.split("::")[0] for nodeid in ids}
    stale = sorted(t for t in DIFFERENCES if t.split("::")[0] in files and t not in ids)
    if stale:
        raise pytest.UsageError(f"flask_upstream: DIFFERENCES names tests Flask's suite lacks: {stale}")


@pytest.fixture(scope="session", autouse=True)
def _sessions_reached_sessile(record_testsuite_property):
    """Proof that the suite ran on sessile: its apps' sessions are in the
    store at the end (the report prints the number; none is an error)."""
    yield
    interface = _state["interface"]
    assert isinstance(interface, SessileSessionInterface)
    stored = interface.engine.count()
    record_testsuite_property("sessile_sessions_stored", stored)
    assert stored > 0, "no session of Flask's suite reached SessileSessionInterface"


def pytest_unconfigure(config: pytest.Config) -> None:
    interface = _state.pop("interface", None)
    if isinstance(interface, SessileSessionInterface):
        flask.Flask.session_interface = _state.pop("default")
        interface.engine.close()
        shutil.rmtree(str(_state.pop("directory")), ignore_errors=True)
