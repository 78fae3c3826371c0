"""The source distribution and the source build's first step, as a user meets
them (issue 19): an sdist that builds from itself alone, and a clear message
when there is no Rust toolchain. Cheap parts only: building the sdist takes
a second; installing it (a full build) is `make dist-check`'s job."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

BINDINGS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BINDINGS / "build_backend"))
import sessile_build  # noqa: E402

# Cargo.toml's rust-version, which the message must name.
RUST_VERSION = re.search(r'^rust-version = "(.+)"', (BINDINGS.parents[1] / "Cargo.toml").read_text(), re.M).group(1)


@pytest.fixture
def sdist(tmp_path, monkeypatch):
    """The sdist as `make dist` writes it, unpacked."""
    if shutil.which("maturin") is None:
        # pip installs maturin into the venv, whose bin/ need not be on PATH.
        monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(BINDINGS)
    name = sessile_build.build_sdist(str(tmp_path))
    with tarfile.open(tmp_path / name) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    (root,) = (tmp_path / "unpacked").iterdir()
    return root


def test_sdist_holds_its_backend_and_points_maturin_at_its_own_crate(sdist):
    assert (sdist / "build_backend" / "sessile_build.py").is_file()
    assert (sdist / "python" / "sessile" / "django" / "__init__.py").is_file()
    assert (sdist / "python" / "sessile" / "django" / "apps.py").is_file()
    pyproject = (sdist / "pyproject.toml").read_text()
    assert 'backend-path = ["build_backend"]' in pyproject
    assert 'manifest-path = "rust/Cargo.toml"' in pyproject
    assert (sdist / "PKG-INFO").read_text().startswith("Metadata-Version:")


def test_sdist_crate_uses_the_vendored_sled_and_parking_lot_core(sdist):
    crate = sdist / "rust"
    assert "[patch.crates-io]" in (crate / "Cargo.toml").read_text()
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--offline", "--manifest-path", str(crate / "Cargo.toml")],
        check=True, capture_output=True, text=True,
    )
    paths = {p["name"]: Path(p["manifest_path"]) for p in json.loads(meta.stdout)["packages"]}
    # sled is the workspace crate sessile-sled; parking_lot_core a [patch].
    for name, vendored in (("sessile-sled", "sled"), ("parking_lot_core", "parking_lot_core")):
        assert paths[name] == crate / "vendor" / vendored / "Cargo.toml"
    assert "sled" not in paths, "crates.io's sled is in the sdist's build"


def test_source_build_without_cargo_says_what_is_missing_and_where_to_get_it(monkeypatch, tmp_path):
    monkeypatch.chdir(BINDINGS)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no cargo
    monkeypatch.delenv("CARGO", raising=False)
    with pytest.raises(SystemExit) as exited:
        sessile_build.prepare_metadata_for_build_wheel(str(tmp_path))
    message = str(exited.value)
    assert f"needs Rust {RUST_VERSION}+" in message and "`cargo` is not on PATH" in message
    assert "https://rustup.rs" in message


def test_source_build_with_an_old_cargo_names_the_version_it_found(monkeypatch, tmp_path):
    old = tmp_path / "cargo"
    old.write_text("#!/bin/sh\necho 'cargo 1.80.0 (376290515 2024-07-16)'\n")
    old.chmod(0o755)
    monkeypatch.chdir(BINDINGS)
    monkeypatch.setenv("CARGO", str(old))
    with pytest.raises(SystemExit) as exited:
        sessile_build.prepare_metadata_for_build_wheel(str(tmp_path))
    assert f"needs Rust {RUST_VERSION}+" in str(exited.value) and "cargo 1.80.0" in str(exited.value)
