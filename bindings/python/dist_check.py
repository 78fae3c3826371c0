"""`make dist-check DIST=/abs/dir`: installs what `make dist` wrote the way a
user does, far from the repository, and smoke-tests each install.

It guards what issue 19 found broken for a new user:
- the wheel must be one a package index accepts (manylinux2014 or older,
  as auditwheel reads the library, not only the file name), hold a stripped
  library, and work with no Rust toolchain: `pip install <wheel>` into a
  fresh venv with cargo off PATH, then a Django request cycle through
  SESSION_ENGINE = "sessile.django" and the app "sessile.django" in
  INSTALLED_APPS (set a value, read it back by cookie, logout flushes the
  session for good);
- the sdist must build from itself alone (its backend, the crate, vendor/
  and the [patch] that uses it): `pip install <sdist>` into a fresh venv
  with cargo on PATH, then a create/load through the built library;
- the same sdist without cargo must stop with the message that names what
  is missing and how to get it, not with a traceback.

Out of reach of the repository: the artifacts are copied into a fresh
temporary directory and everything runs from there, with a fresh pip cache
(pip caches wheels it built from a local sdist, which would let the source
build pass without building) and no CARGO_TARGET_DIR (the source build
compiles everything in pip's own build directory). The install commands
are the lines of README.md's "Installing a release" section, run verbatim,
so the README shows exactly what is tested.

The source build uses the release profile at opt-level 0 without line
tables (CARGO_PROFILE_RELEASE_* environment variables, which cargo reads
under maturin): this check is about what the sdist contains and how it
installs, and optimisation changes neither which files, dependencies and
features the build uses nor how the result installs; it roughly halves the
build on two cores.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
README_LINE = re.compile(r"^\s*(pip install (sessile-\S+?(\.whl|\.tar\.gz)))\s*$", re.MULTILINE)
# The message build_backend/sessile_build.py gives without cargo, in parts
# a user needs: what is missing, and how to get it.
NO_RUST_MESSAGE = ["building from source needs Rust 1.89+", "`cargo` is not on PATH", "https://rustup.rs"]
OLDEST_GLIBC_MINOR = 17  # manylinux2014 = manylinux_2_17

timings: list[tuple[str, float]] = []


def fail(message: str) -> None:
    raise SystemExit(f"dist-check: FAILED: {message}")


def run(argv: list[str], *, env: dict[str, str], cwd: Path, expect_ok: bool = True) -> subprocess.CompletedProcess:
    print(f"dist-check: $ {shlex.join(argv)}", flush=True)
    proc = subprocess.run(argv, env=env, cwd=cwd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if expect_ok and proc.returncode != 0:
        print(proc.stdout)
        fail(f"{shlex.join(argv)} exited {proc.returncode}")
    return proc


def timed(label: str, fn, *args, **kwargs):
    start = time.monotonic()
    result = fn(*args, **kwargs)
    timings.append((label, time.monotonic() - start))
    return result


def elf_sections(data: bytes) -> set[str]:
    """The section names of a 64-bit little-endian ELF file."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        fail("the native library is not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_offset = sections[shstrndx][4]
    names = set()
    for name, *_ in sections:
        start = names_offset + name
        names.add(data[start:data.index(b"\0", start)].decode("ascii"))
    return names


def check_stripped(data: bytes, where: str) -> None:
    debug = sorted(n for n in elf_sections(data) if n.startswith(".debug") or n == ".symtab")
    if debug:
        fail(f"{where} is not stripped: it has {', '.join(debug)}")
    print(f"dist-check: {where}: {len(data) / 1e6:.1f} MB, no debug info or symbol table")


def readme_install_lines(wheel: str, sdist: str) -> tuple[str, str]:
    found = {m.group(2): m.group(1) for m in README_LINE.finditer((HERE / "README.md").read_text("utf-8"))}
    for name in (wheel, sdist):
        if name not in found:
            fail(f"bindings/python/README.md has no line `pip install {name}` (it lists {sorted(found)}); "
                 "update its install lines to the artifacts `make dist` wrote")
    return found[wheel], found[sdist]


def fresh_venv(work: Path, name: str, path_dirs: list[str]) -> tuple[Path, dict[str, str]]:
    venv = work / name
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "CARGO"}}
    env.update(VIRTUAL_ENV=str(venv), PATH=os.pathsep.join([str(venv / "bin"), *path_dirs]),
               PIP_CACHE_DIR=str(work / "pip-cache"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    return venv, env


def django_pin() -> str:
    for line in (HERE / "requirements.txt").read_text("utf-8").splitlines():
        if line.startswith("Django=="):
            return line.strip()
    fail("requirements.txt pins no Django")


DJANGO_SETTINGS = """\
SECRET_KEY = "dist-check-not-secret"
USE_TZ = True
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions", "sessile.django"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
ROOT_URLCONF = "smoke_urls"
SESSION_ENGINE = "sessile.django"
SESSILE_PATH = {path!r}
"""

DJANGO_URLS = """\
from django.contrib.auth import logout
from django.http import HttpResponse
from django.urls import path


def put(request):
    request.session["greeting"] = request.GET["value"]
    return HttpResponse("stored")


def get(request):
    return HttpResponse(request.session.get("greeting", "<nothing>"))


def leave(request):
    logout(request)
    return HttpResponse("logged out")


urlpatterns = [path("put/", put), path("get/", get), path("logout/", leave)]
"""

DJANGO_CYCLE = """\
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "smoke_settings"
import django
django.setup()
from django.apps import apps
from django.conf import settings
from django.test import Client
import sessile
from sessile.django import SessionStore

assert "site-packages" in sessile.__file__, sessile.__file__
assert apps.get_app_config("sessile").name == "sessile.django", "the app sessile.django is not in the package"
client = Client()
assert client.get("/put/", {"value": "hello"}).content == b"stored"
key = client.cookies[settings.SESSION_COOKIE_NAME].value
assert key and SessionStore().exists(key), key
assert client.get("/get/").content == b"hello", "the value did not come back by cookie"
assert client.get("/logout/").content == b"logged out"
assert client.get("/get/").content == b"<nothing>", "logout left the value in place"
assert not SessionStore().exists(key), "logout left the session in the store"
print(f"django {django.__version__}: set, read back by cookie, logout flushed ({sessile.__file__})")
"""

CREATE_LOAD = """\
import sys
import sessile
assert "site-packages" in sessile.__file__, sessile.__file__
with sessile.open(sys.argv[1]) as engine:
    key = engine.create({"user_id": 42}, expiry=3600)
    assert engine.load(key).data == {"user_id": 42}
print(f"sessile {sessile.__version__}: create + load ({sessile.__file__})")
"""


def native_library(venv: Path) -> Path:
    found = list(venv.glob("lib/python*/site-packages/sessile/_native/*.so"))
    if len(found) != 1:
        fail(f"expected one native library in {venv}, found {found}")
    return found[0]


def check_wheel(work: Path, wheel: str, line: str, no_cargo: list[str]) -> None:
    auditwheel = run([sys.executable, "-m", "auditwheel", "show", wheel], env=dict(os.environ), cwd=work).stdout
    tags = re.findall(r'"manylinux_2_(\d+)_x86_64"', auditwheel)
    if not tags or int(tags[0]) > OLDEST_GLIBC_MINOR:
        fail(f"auditwheel puts {wheel} above manylinux_2_{OLDEST_GLIBC_MINOR}:\n{auditwheel}")
    print(f"dist-check: auditwheel: consistent with manylinux_2_{tags[0]}_x86_64")
    with zipfile.ZipFile(work / wheel) as zf:
        libs = [n for n in zf.namelist() if n.endswith(".so")]
        if len(libs) != 1:
            fail(f"expected one native library in {wheel}, found {libs}")
        check_stripped(zf.read(libs[0]), f"{wheel}:{libs[0]}")

    venv, env = fresh_venv(work, "venv-wheel", no_cargo)
    if shutil.which("cargo", path=env["PATH"]):
        fail("cargo is still on PATH for the wheel's install")
    timed("wheel: pip install", run, shlex.split(line), env=env, cwd=work)
    timed("wheel: pip install Django", run, ["pip", "install", "-q", django_pin()], env=env, cwd=work)
    (work / "smoke_settings.py").write_text(DJANGO_SETTINGS.format(path=str(work / "django-sessions.db")))
    (work / "smoke_urls.py").write_text(DJANGO_URLS)
    (work / "django_cycle.py").write_text(DJANGO_CYCLE)
    print(run(["python", "django_cycle.py"], env=env, cwd=work).stdout.strip())


def check_sdist_without_rust(work: Path, line: str, no_cargo: list[str]) -> None:
    venv, env = fresh_venv(work, "venv-sdist-no-rust", no_cargo)
    proc = timed("sdist without cargo: pip install (fails)", run, shlex.split(line), env=env, cwd=work,
                 expect_ok=False)
    if proc.returncode == 0:
        fail("the sdist installed without cargo on PATH")
    missing = [part for part in NO_RUST_MESSAGE if part not in proc.stdout]
    if missing or "Traceback" in proc.stdout:
        print(proc.stdout)
        fail(f"without cargo, pip's output lacks {missing} or shows a traceback")
    lines = proc.stdout.splitlines()
    start = next(i for i, text in enumerate(lines) if "sessile: building" in text)
    end = next(i for i, text in enumerate(lines) if i > start and "[end of output]" in text)
    message = textwrap.dedent("\n".join(lines[start:end])).strip()
    print("dist-check: without cargo, pip says:\n" + textwrap.indent(message, "    | ", lambda _: True))


def check_sdist(work: Path, line: str, with_cargo: list[str]) -> None:
    venv, env = fresh_venv(work, "venv-sdist", with_cargo)
    if not shutil.which("cargo", path=env["PATH"]):
        fail("the source build needs cargo on PATH, and there is none")
    env.update(CARGO_PROFILE_RELEASE_OPT_LEVEL="0", CARGO_PROFILE_RELEASE_DEBUG="0")
    timed("sdist: pip install (builds the crate)", run, shlex.split(line), env=env, cwd=work)
    check_stripped(native_library(venv).read_bytes(), "the library built from the sdist")
    (work / "create_load.py").write_text(CREATE_LOAD)
    print(run(["python", "create_load.py", str(work / "sdist-sessions.db")], env=env, cwd=work).stdout.strip())


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: dist_check.py /abs/dist/dir")
    dist = Path(sys.argv[1])
    wheels = sorted(dist.glob("sessile-*.whl"))
    # dist/ also holds the C tarball, sessile-<version>-linux-<arch>.tar.gz.
    sdists = sorted(p for p in dist.glob("sessile-*.tar.gz") if "-linux-" not in p.name)
    if len(wheels) != 1 or len(sdists) != 1:
        fail(f"{dist} should hold one wheel and one sdist (make dist), not {wheels + sdists}")
    wheel_line, sdist_line = readme_install_lines(wheels[0].name, sdists[0].name)

    # The bindings' own venv (maturin, zig) is out of reach too.
    ours = str(Path(sys.prefix) / "bin")
    path = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and d != ours]
    no_cargo = [d for d in path if not (Path(d) / "cargo").exists() and not (Path(d) / "rustc").exists()]

    with tempfile.TemporaryDirectory(prefix="sessile-dist-check-") as tmp:
        work = Path(tmp)
        for artifact in (wheels[0], sdists[0]):
            shutil.copy2(artifact, work)
        check_wheel(work, wheels[0].name, wheel_line, no_cargo)
        check_sdist_without_rust(work, sdist_line, no_cargo)
        check_sdist(work, sdist_line, path)

    print("dist-check: passed")
    for label, seconds in timings:
        print(f"dist-check:   {label}: {seconds:.0f} s")


if __name__ == "__main__":
    main()
