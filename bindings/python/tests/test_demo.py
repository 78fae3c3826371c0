"""The Django demo (`make demo`) served for real: a scripted client logs in,
counts visits and logs out, and sees the session key change on login and the
cookie deleted on logout."""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "examples" / "django_demo"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = dict(os.environ, SESSILE_DEMO_PATH=str(tmp_path / "demo.db"),
               DJANGO_SETTINGS_MODULE="demo.settings")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=DEMO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:  # wait for the port to accept connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"demo server did not start: {proc.stdout.read().decode()}")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


def test_login_visits_logout(server):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(path):
        with opener.open(server + path, timeout=30) as r:
            return r.read().decode()

    def post(path, **fields):
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": cookie("csrftoken"), **fields}).encode()
        request = urllib.request.Request(server + path, data=body, headers={"Referer": server + "/"})
        with opener.open(request, timeout=30) as r:
            return r.read().decode()

    def cookie(name):
        return next((c.value for c in jar if c.name == name), None)

    def visits(html):
        return int(re.search(r'id="visits">(\d+)<', html).group(1))

    assert visits(get("/")) == 1
    assert visits(get("/")) == 2
    anonymous_key = cookie("sessionid")
    assert anonymous_key and len(anonymous_key) == 32

    get("/login/")
    html = post("/login/", username="alice")  # redirected to /
    assert 'id="user">alice<' in html
    assert visits(html) == 3  # the data moved to the new key
    logged_in_key = cookie("sessionid")
    assert logged_in_key != anonymous_key  # cycle_key on login

    assert visits(get("/")) == 4
    html = post("/logout/")  # flush, then redirected to / which starts anew
    assert "not logged in" in html
    assert visits(html) == 1
    assert cookie("sessionid") not in (None, logged_in_key, anonymous_key)


def test_logout_deletes_the_cookie(server):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(server + "/", timeout=30).read()
    opener.open(server + "/login/", timeout=30).read()
    token = next(c.value for c in jar if c.name == "csrftoken")
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "bob"}).encode()
    opener.open(urllib.request.Request(server + "/login/", data=data), timeout=30).read()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    no_follow = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token}).encode()
    try:
        no_follow.open(urllib.request.Request(server + "/logout/", data=data), timeout=30)
        pytest.fail("logout should redirect")
    except urllib.error.HTTPError as response:
        assert response.code == 302
        set_cookie = [v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("sessionid=")]
    assert len(set_cookie) == 1 and "Max-Age=0" in set_cookie[0]
    assert all(c.name != "sessionid" for c in jar)
