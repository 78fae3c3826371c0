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
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import maturin

HERE = Path(__file__).resolve().parent

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


def _crate_dir() -> Path:
    pyproject = (Path.cwd() / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^manifest-path\s*=\s*"([^"]+)"', pyproject, re.MULTILINE)
    manifest = Path.cwd() / (match.group(1) if match else "Cargo.toml")
    return manifest.resolve().parent


def _target_dir(crate_dir: Path) -> Path:
    cargo = os.environ.get("CARGO", "cargo")
    meta = subprocess.run(
        [cargo, "metadata", "--format-version", "1", "--no-deps",
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


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    write_header()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    write_header()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)


build_sdist = maturin.build_sdist
get_requires_for_build_wheel = maturin.get_requires_for_build_wheel
get_requires_for_build_sdist = maturin.get_requires_for_build_sdist
get_requires_for_build_editable = maturin.get_requires_for_build_editable
prepare_metadata_for_build_wheel = maturin.prepare_metadata_for_build_wheel
prepare_metadata_for_build_editable = maturin.prepare_metadata_for_build_editable
