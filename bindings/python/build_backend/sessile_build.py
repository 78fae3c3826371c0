"""PEP 517 backend: maturin, after making the C header readable by cffi.

maturin's cffi mode feeds a C header to ``cffi.FFI.cdef``, and it takes that
header from ``<cargo target dir>/header.h`` when the file exists (otherwise
it runs cbindgen over the whole crate itself). ``cdef`` accepts declarations
and ``#define NAME <integer>`` only, no preprocessor conditionals, while
``include/sessile.h`` has C++ guards, an include guard and the test-hook
section. So before maturin runs, this backend writes ``target/header.h``:
the committed header (the one CI checks against the code) as a C11 compiler
without ``SESSILE_TEST_HOOKS`` sees it. Every conditional it meets must be
one it knows; anything else stops the build, so a change to the header can
never silently drop declarations.

It also assembles the source distribution itself (maturin's own sdist of
this layout leaves out ``vendor/`` and this backend; see ``build_sdist``),
and stops a source build that finds no Rust toolchain, or one older than the
crate's ``rust-version``, with a message saying what to install, not a
traceback.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import maturin

HERE = Path(__file__).resolve().parent

# Without cargo on PATH, maturin's hooks ask pip for `puccinialin`, which
# downloads a Rust toolchain from static.rust-lang.org in the middle of
# `pip install`. A user without Rust gets RUST_MISSING instead: what is
# missing and how to get it (or a prebuilt wheel, which needs no Rust).
os.environ["MATURIN_NO_INSTALL_RUST"] = "1"

RUST_MISSING = """
sessile: building from source needs Rust {minimum}+ (cargo and rustc), and {problem}.

  Install Rust with rustup (https://rustup.rs):
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
      . "$HOME/.cargo/env"
  or update an older one:  rustup update stable
  then run pip again.

  A prebuilt wheel needs no Rust: x86_64 Linux with glibc 2.17+ (manylinux2014).
"""

# The value each preprocessor condition in include/sessile.h has for a C11
# compiler (not C++, not C23) without the test hooks.
KNOWN_CONDITIONS = {
    "#ifndef SESSILE_H": True,
    "#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L": False,
    "#if __STDC_VERSION__ >= 202311L": False,
    "#ifdef __cplusplus": False,
    "#ifndef __cplusplus": True,
    "#if defined(SESSILE_TEST_HOOKS)": False,
}
INTEGER_DEFINE = re.compile(r"#define\s+([A-Za-z_][A-Za-z0-9_]*)\s+(-?\d+)[uUlL]*\s*$")


def cffi_header(text: str) -> str:
    """The declarations of a cbindgen header in the subset cffi's cdef parses."""
    lines = text.replace("\\\n", " ").splitlines()
    out: list[str] = []
    # One entry per open conditional: whether its current branch is kept.
    stack: list[bool] = []
    for number, line in enumerate(lines, 1):
        directive = line.strip()
        # Comments after a directive (`#endif // ...`) are not part of it.
        directive = re.sub(r"\s*(//.*|/\*.*\*/)$", "", directive)
        keep = all(stack)
        if directive.startswith(("#if", "#ifdef", "#ifndef")):
            if directive not in KNOWN_CONDITIONS:
                raise SystemExit(f"include/sessile.h:{number}: unknown conditional {directive!r}")
            stack.append(KNOWN_CONDITIONS[directive])
        elif directive == "#else":
            if not stack:
                raise SystemExit(f"include/sessile.h:{number}: #else without #if")
            stack[-1] = not stack[-1]
        elif directive == "#endif":
            if not stack:
                raise SystemExit(f"include/sessile.h:{number}: #endif without #if")
            stack.pop()
        elif directive.startswith("#include"):
            continue  # cffi knows the standard integer types and bool already
        elif directive.startswith("#define"):
            match = INTEGER_DEFINE.match(directive)
            # The include guard and the string/expression macros have no
            # cdef form; the integer constants (SESSILE_ABI_VERSION, flags)
            # become attributes of the loaded library.
            if keep and match:
                out.append(f"#define {match.group(1)} {match.group(2)}")
        elif directive.startswith("#"):
            raise SystemExit(f"include/sessile.h:{number}: unexpected directive {directive!r}")
        elif keep:
            out.append(line)
    if stack:
        raise SystemExit("include/sessile.h: unterminated #if")
    return "\n".join(out) + "\n"


def _minimum_rust() -> tuple[int, ...]:
    """The crate's `rust-version`: older toolchains fail deep inside a
    dependency's build, with an error that does not say so."""
    manifest = (_crate_dir() / "Cargo.toml").read_text(encoding="utf-8")
    match = re.search(r'^rust-version\s*=\s*"([\d.]+)"', manifest, re.MULTILINE)
    if match is None:
        raise SystemExit("sessile: Cargo.toml has no rust-version")
    return tuple(int(part) for part in match.group(1).split("."))


def _cargo() -> str:
    """The cargo that maturin will run, once it is known to be new enough."""
    cargo = os.environ.get("CARGO", "cargo")
    found = shutil.which(cargo)
    least = _minimum_rust()
    minimum = ".".join(map(str, least))
    if found is None:
        raise SystemExit(RUST_MISSING.format(minimum=minimum, problem=f"`{cargo}` is not on PATH"))
    try:
        version = subprocess.run([found, "--version"], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(RUST_MISSING.format(minimum=minimum, problem=f"`{found} --version` failed ({e})"))
    match = re.match(r"cargo (\d+)\.(\d+)\.(\d+)", version)
    if match and tuple(map(int, match.groups())) < least:
        raise SystemExit(RUST_MISSING.format(minimum=minimum, problem=f"{found} is {version.strip()}"))
    return found


def _crate_dir() -> Path:
    match = re.search(r'^manifest-path\s*=\s*"([^"]+)"', _pyproject(), re.MULTILINE)
    manifest = Path.cwd() / (match.group(1) if match else "Cargo.toml")
    return manifest.resolve().parent


def _pyproject() -> str:
    return (Path.cwd() / "pyproject.toml").read_text(encoding="utf-8")


def _target_dir(crate_dir: Path) -> Path:
    meta = subprocess.run(
        [_cargo(), "metadata", "--format-version", "1", "--no-deps",
         "--manifest-path", str(crate_dir / "Cargo.toml")],
        check=True, capture_output=True, text=True,
    )
    return Path(json.loads(meta.stdout)["target_directory"])


def write_header() -> Path:
    crate_dir = _crate_dir()
    source = crate_dir / "include" / "sessile.h"
    if not source.is_file():
        raise SystemExit(f"sessile: the C header {source} is missing")
    header = cffi_header(source.read_text(encoding="utf-8"))
    target = _target_dir(crate_dir)
    target.mkdir(parents=True, exist_ok=True)
    path = target / "header.h"
    tmp = path.with_name(f"header.h.tmp{os.getpid()}")
    tmp.write_text(header, encoding="utf-8")
    os.replace(tmp, path)
    return path


# The source distribution. maturin's (`maturin sdist`) takes the crate's
# files from `cargo package --list`, which skips vendor/sled and
# vendor/parking_lot_core (each has a Cargo.toml of its own, so cargo counts
# it as another package) while keeping the `[patch.crates-io]` that points
# at them, and it keeps `backend-path` pointing at a build_backend/ it does
# not copy: that sdist cannot build. This one holds exactly what a build
# reads, laid out as
#
#   sessile-<version>/pyproject.toml      manifest-path = "rust/Cargo.toml"
#                    /build_backend/      this backend
#                    /python/sessile/     the package
#                    /rust/               the crate, with vendor/ and the
#                                         [patch.crates-io] that uses it
#
# The crate's Cargo.toml loses its benches, examples, tests and
# dev-dependencies (their sources are not shipped, and cargo refuses a
# manifest that names target files it cannot find); everything else, the
# release profile and the patch included, stays byte for byte.
SDIST_PYTHON = ["pyproject.toml", "README.md", "build_backend/sessile_build.py", "python/sessile"]
# README.md: Cargo.toml's `readme`, which maturin reads for the metadata.
SDIST_CRATE = ["Cargo.toml", "Cargo.lock", "README.md", "build.rs", "cbindgen.toml", "include/sessile.h", "src",
               "vendor/sled", "vendor/parking_lot_core"]
SDIST_CRATE_DIR = "rust"
DROPPED_CARGO_TABLES = re.compile(r"\[\[(bench|example|test)\]\]|\[(target\..+\.)?dev-dependencies\]")
SKIPPED_NAMES = {"__pycache__", "target", ".git"}


def sdist_cargo_toml(text: str) -> str:
    """Cargo.toml without the tables whose files the sdist does not ship."""
    out: list[str] = []
    keep = True
    for line in text.splitlines(keepends=True):
        header = line.strip()
        if header.startswith("["):
            keep = not DROPPED_CARGO_TABLES.fullmatch(header)
        if keep:
            out.append(line)
    return "".join(out)


def sdist_pyproject(text: str) -> str:
    """pyproject.toml with maturin pointed at the crate inside the sdist."""
    text, count = re.subn(r'^manifest-path\s*=\s*"[^"]*"', f'manifest-path = "{SDIST_CRATE_DIR}/Cargo.toml"',
                          text, flags=re.MULTILINE)
    if count != 1:
        raise SystemExit("sessile: pyproject.toml needs exactly one [tool.maturin] manifest-path")
    return text


def _files(root: Path, names: list[str]) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for name in names:
        path = root / name
        if path.is_file():
            found.append((name, path))
        elif path.is_dir():
            for sub in sorted(path.rglob("*")):
                rel = sub.relative_to(root)
                if sub.is_file() and not SKIPPED_NAMES.intersection(rel.parts):
                    found.append((rel.as_posix(), sub))
        else:
            raise SystemExit(f"sessile: {path} is missing; it belongs in the source distribution")
    return found


def _metadata() -> bytes:
    """The core metadata (PKG-INFO) as maturin writes it for the wheel."""
    with tempfile.TemporaryDirectory() as tmp:
        dist_info = maturin.prepare_metadata_for_build_wheel(tmp)
        return (Path(tmp) / dist_info / "METADATA").read_bytes()


def build_sdist(sdist_directory, config_settings=None):
    _cargo()
    pkg_info = _metadata()
    fields = dict(re.findall(r"^(Name|Version): (.+)$", pkg_info.decode("utf-8"), re.MULTILINE))
    base = f"{fields['Name'].replace('-', '_')}-{fields['Version']}"
    crate_dir = _crate_dir()
    members: list[tuple[str, bytes]] = [("PKG-INFO", pkg_info)]
    for name, path in _files(Path.cwd(), SDIST_PYTHON):
        data = path.read_bytes()
        if name == "pyproject.toml":
            data = sdist_pyproject(data.decode("utf-8")).encode("utf-8")
        members.append((name, data))
    for name, path in _files(crate_dir, SDIST_CRATE):
        data = path.read_bytes()
        if name == "Cargo.toml":
            data = sdist_cargo_toml(data.decode("utf-8")).encode("utf-8")
        members.append((f"{SDIST_CRATE_DIR}/{name}", data))
    # Reproducible: same sources, same bytes (SOURCE_DATE_EPOCH as usual).
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
    filename = f"{base}.tar.gz"
    out = Path(sdist_directory) / filename
    tmp = out.with_name(f"{filename}.tmp{os.getpid()}")
    with tarfile.open(tmp, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(f"{base}/{name}")
            info.size = len(data)
            info.mtime = mtime
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, out)
    return filename


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    write_header()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    write_header()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _cargo()
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    _cargo()
    return maturin.prepare_metadata_for_build_editable(metadata_directory, config_settings)


get_requires_for_build_wheel = maturin.get_requires_for_build_wheel
get_requires_for_build_sdist = maturin.get_requires_for_build_sdist
get_requires_for_build_editable = maturin.get_requires_for_build_editable
