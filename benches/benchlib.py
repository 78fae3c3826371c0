"""What the Python side-by-side benchmarks share: the session data they
store, a redis-server of their own, the rounds they time in, percentiles,
the environment recorded with the figures, the SVG chart's pieces and the
writing of the results.

Used by benches/django_engines.py (`make bench-python`) and
benches/redis_django.py (`make bench-redis`). They are run as
``python benches/<script>.py``, so Python puts benches/ on sys.path and
``import benchlib`` finds this file. Nothing here is timed itself: the
measured requests stay in the scripts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(doc: str, seed: int, *options: tuple[str, dict], sessions: int = 10_000,
               rounds: int = 12) -> argparse.Namespace:
    """The command line: --sessions and --rounds (``sessions`` and ``rounds``
    by default), then ``options`` (each a flag and ``add_argument``'s
    keywords), then --seed (``seed`` by default) and --out. The description
    is the first paragraph of ``doc``."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=sessions, help=f"sessions per engine (default {sessions})")
    ap.add_argument("--rounds", type=int, default=rounds, help=f"interleaved rounds (default {rounds})")
    for flag, kwargs in options:
        ap.add_argument(flag, **kwargs)
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON and SVG")
    return ap.parse_args()


def begin(seed: int, tmp_prefix: str) -> tuple[random.Random, tuple, dt.datetime, Path]:
    """A run's start: its random choices (from ``seed``), the load average
    and the time before it, and a fresh temporary directory."""
    return (random.Random(seed), os.getloadavg(), dt.datetime.now(dt.timezone.utc),
            Path(tempfile.mkdtemp(prefix=tmp_prefix)))


def session_data(n: int) -> dict:
    """What a logged-in user's session holds: about 250 bytes pickled or as JSON."""
    return {
        "_auth_user_id": str(100_000 + n),
        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
        "_auth_user_hash": f"{n:064x}",
        "cart": [n % 97, n % 89, n % 83],
        "theme": "dark",
        "last_request": 0,
    }


# --------------------------------------------------------------------------
# redis-server: our own on a free port, nothing saved to disk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_pair(who: str) -> int:
    """A free port p <= 55535 whose p + 10000 is free too."""
    rng = random.Random()
    for _ in range(200):
        p = rng.randrange(20_000, 55_535)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", p))
                b.bind(("127.0.0.1", p + 10_000))
            return p
        except OSError:
            continue
    sys.exit(f"{who}: no free port pair for a cluster node")


class RedisServer:
    """A redis-server of our own on a free port: no RDB, no AOF; its files
    (and log) in ``workdir/redis-<port>``. ``extra`` goes on its command line.
    ``who`` and ``make_target`` name the script and the make target that
    installs redis-server in the messages it exits with."""

    def __init__(self, workdir: Path, *extra: str, who: str, make_target: str) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            sys.exit(f"{who}: redis-server is not installed; `make {make_target}` installs it")
        # A cluster node also listens on port + 10000 (its bus), which
        # must be free and at most 65535.
        self.port = free_port_pair(who) if "--cluster-enabled" in extra else free_port()
        self.dir = workdir / f"redis-{self.port}"
        self.dir.mkdir()
        self.log = self.dir / "redis.log"
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--daemonize", "no", "--loglevel", "warning", *extra],
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )
        self.version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"{who}: redis-server exited: {self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                sys.exit(f"{who}: redis-server did not answer within 10 s")
            time.sleep(0.05)
        import redis

        # Connects on first use.
        self.client = redis.Redis(host="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def close_sessile_engines() -> None:
    """sessile.django's engines closed at the end of a run, if they can be."""
    try:
        from sessile.django import close_engines

        close_engines()
    except Exception:  # noqa: BLE001 - the numbers matter more than a tidy close
        pass


# --------------------------------------------------------------------------
# Timing and statistics


def interleaved_rounds(rng: random.Random, rounds: int, jobs: Iterable, run: Callable) -> None:
    """``rounds`` rounds; each runs ``run(job)`` for every job, in a fresh
    random order, so that a noisy neighbour slows all jobs alike rather
    than whichever ran at that moment."""
    jobs = list(jobs)
    for r in range(rounds):
        order = jobs[:]
        rng.shuffle(order)
        for job in order:
            run(job)
        print(f"  round {r + 1}/{rounds} done", flush=True)


def timed_batch(run: Callable[[list[int]], int]) -> tuple[int, list[int]]:
    """``run(samples)`` after a full collection, with a fresh list for it to
    append each request's ns to; its return value (the wall ns) and the
    samples."""
    samples: list[int] = []
    gc.collect()
    return run(samples), samples


def percentile(sorted_values: list[int], q: float) -> float:
    """Linear interpolation between the closest ranks (NaN for no values)."""
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def latency_us(ordered: list[int]) -> dict:
    """The request count and the median and p99 in µs of sorted ns samples."""
    return {"requests": len(ordered),
            "median_us": percentile(ordered, 0.5) / 1000,
            "p99_us": percentile(ordered, 0.99) / 1000}


def ratio_spread(rounds: list[float], base_rounds: list[float]) -> dict:
    """Round by round, ``rounds`` over ``base_rounds``: the least and the most.
    Within a round the two ran back to back, so the spread shows how steady
    the comparison was through the noise."""
    per_round = [a / b for a, b in zip(rounds, base_rounds)]
    return {"min": min(per_round), "max": max(per_round)}


# --------------------------------------------------------------------------
# What the figures were measured on


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def git_commit() -> str:
    """The checkout's commit (short hash); "unknown" outside a checkout."""
    out = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def environment(started, load_before, redis_version: str, make_target: str, *,
                sqlite: bool = False, **params) -> dict:
    """The run's date, commit, command, machine, load and versions (SQLite's
    too if ``sqlite``), then ``params`` in their order. ``command`` is
    ``make <make_target>`` for a run without arguments."""
    import django
    import redis as redis_py
    import sessile

    script = Path(sys.argv[0]).name
    env = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "command": (f"make {make_target}" if len(sys.argv) == 1
                    else f"python benches/{script} " + " ".join(sys.argv[1:])),
        "machine": f"{cpu_model()} ({platform.machine()}), {os.cpu_count()} cores (shared, noisy), "
                   f"{platform.system()} {platform.release()}",
        "cpus": f"{cpu_model()}, {os.cpu_count()} cores (shared, noisy)",
        "load_before": list(load_before),
        "load_after": list(os.getloadavg()),
        "python": platform.python_version(),
        "django": django.get_version(),
        "sessile": sessile.LIBRARY_VERSION,
    }
    if sqlite:
        env["sqlite"] = sqlite3.sqlite_version
    env["redis_server"] = redis_version
    env["redis_py"] = redis_py.__version__
    env.update(params)
    return env


# --------------------------------------------------------------------------
# Reporting


def markdown_table(titles: list[str], align: str, rows: Iterable[list[str]]) -> str:
    """A Markdown table of ``rows`` (each a list of cell texts) under
    ``titles``; ``align`` has an ``l`` or ``r`` for each column."""
    line = lambda cells: "| " + " | ".join(cells) + " |"  # noqa: E731
    return "\n".join([line(titles), "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|",
                      *map(line, rows)])


def print_verdicts(word: str, verdicts: list[dict]) -> None:
    """One line each: ``<word>: text: measured -> met`` (or NOT met)."""
    for v in verdicts:
        print(f"{word}: {v['text']}: {v['measured']} -> {'met' if v['met'] else 'NOT met'}")


def print_machine(meta: dict) -> None:
    print(f"\n{meta['machine']}; load average {meta['load_before'][0]:.2f} before, "
          f"{meta['load_after'][0]:.2f} after")


def write_results(out: Path, name: str, doc: dict, svg: str, ensure_ascii: bool = True) -> None:
    """``out/<name>.json`` (indented, a newline at the end) and ``out/<name>.svg``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=ensure_ascii) + "\n")
    (out / f"{name}.svg").write_text(svg)
    print(f"wrote {out / f'{name}.json'} and {out / f'{name}.svg'}")


def svg_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg_open(width: int, height: int, text_x: int, title: str, *lines: str) -> list[str]:
    """The chart's first elements: the root, a white page, a bold title and
    grey lines under it (their text already escaped where it needs to be)."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{text_x}" y="22" font-size="15" font-weight="bold">{title}</text>',
    ]
    parts += [f'<text x="{text_x}" y="{40 + 17 * i}" fill="#555">{line}</text>' for i, line in enumerate(lines)]
    return parts


def svg_gridline(gx: float, y1: float, bottom: float, label: str) -> list[str]:
    """A vertical gridline at ``gx`` with its value under the plot."""
    return [f'<line x1="{gx:.1f}" y1="{y1}" x2="{gx:.1f}" y2="{bottom}" stroke="#ddd"/>',
            f'<text x="{gx:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#555">{label}</text>']


def svg_axis_title(x: float, bottom: float) -> str:
    return f'<text x="{x:.1f}" y="{bottom + 36}" text-anchor="middle" fill="#555">µs / request</text>'


def svg_bar(label: str, left: float, y: float, bx: float, px: float, colour: str, note: str, note_x: float, *,
            text_y: int, bar_y: int, bar_h: int, mid: int, tick: int) -> list[str]:
    """One row of a bar chart from ``y`` down: ``label`` right-aligned before
    ``left``, a bar to ``bx`` (the median), a whisker to ``px`` ending in a
    tick (the p99), and ``note`` at ``note_x``. The offsets are from ``y``:
    the text baseline, the bar's top and height, the whisker's line and
    the tick's half height."""
    return [
        f'<text x="{left - 8}" y="{y + text_y}" text-anchor="end">{svg_escape(label)}</text>',
        f'<rect x="{left}" y="{y + bar_y}" width="{bx - left:.1f}" height="{bar_h}" fill="{colour}"/>',
        f'<line x1="{bx:.1f}" y1="{y + mid}" x2="{px:.1f}" y2="{y + mid}" stroke="#333"/>',
        f'<line x1="{px:.1f}" y1="{y + mid - tick}" x2="{px:.1f}" y2="{y + mid + tick}" stroke="#333" '
        f'stroke-width="2"/>',
        f'<text x="{note_x}" y="{y + text_y}">{note}</text>',
    ]
