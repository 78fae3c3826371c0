#!/usr/bin/env python3
"""Django session engines end to end: whole HTTP requests through gunicorn,
under wrk, the figure a site's users feel.

One gunicorn server per engine (one worker, ``--threads N``, the gthread
worker), each serving the same tiny Django site (benches/e2e_django_site.py)
whose view reads two keys of the session, increments a counter in it and
answers the counter. The engines: ``sessile.django`` (embedded sled,
default settings, not durable), Django's ``db`` (SQLite file), ``cache``
(LocMemCache), ``cache`` (RedisCache on a redis-server started here),
``file`` and ``signed_cookies``. A seventh server, ``floor``, serves the
same site without SessionMiddleware: what Django and gunicorn cost per
request on their own.

Before timing, a pool of sessions (``--sessions`` per engine) is created
through each site's ``/login``; wrk then runs with one connection per
thread (``-t N -c N``), and benches/e2e_wrk.lua makes every connection send
back the cookies of its share of the pool in turn, keeping each
``Set-Cookie`` it gets, so every request hits an existing session. The
script counts answers other than 200 (a session that did not load answers
500) and counters that are not one more than the last one seen for that
session (a lost write); the run fails on any.

All servers run at once (an idle one costs nothing) and wrk visits them in
interleaved rounds: every round runs ``--seconds`` of wrk on each engine, in
a fresh random order, so a noisy neighbour slows all engines alike rather
than whichever ran at that moment. Per engine: requests/s and wrk's p99
latency, each the median over the rounds; per engine and round, its
requests/s over sessile's in the same round, whose median over the rounds
is the ratio reported (with the range).

    make bench-e2e              # installs wrk and gunicorn, runs this and the Node side
    bindings/python/.venv/bin/python benches/e2e_django.py [--rounds N]
        [--seconds S] [--threads N] [--sessions N] [--out DIR]

Writes benches/results/e2e_django.json and .svg; prints the table.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import (
    RedisServer, begin, environment, free_port, interleaved_rounds, markdown_table,
    parse_args, print_machine, print_verdicts, ratio_spread, svg_escape, svg_gridline, svg_open,
    write_results,
)

HERE = Path(__file__).resolve().parent
LUA = HERE / "e2e_wrk.lua"
COOKIE = "sessionid"
BASELINE = "sessile"
FLOOR = "floor"
FLOOR_LABEL = "floor: no session middleware"
# (key in e2e_django_site.ENGINES, label)
ENGINES = [
    ("sessile", "sessile"),
    ("db", "db (SQLite)"),
    ("locmem", "cache (locmem)"),
    ("redis", "cache (Redis)"),
    ("file", "file"),
    ("signed_cookies", "signed_cookies"),
    (FLOOR, FLOOR_LABEL),
]


class Server:
    """gunicorn serving e2e_django_site for one engine on a free port."""

    def __init__(self, key: str, label: str, tmp: Path, threads: int, redis_url: str, secret: str) -> None:
        self.key, self.label = key, label
        self.port = free_port()
        self.dir = tmp / key
        self.dir.mkdir()
        self.log = self.dir / "gunicorn.log"
        env = {**os.environ, "E2E_ENGINE": key, "E2E_DIR": str(self.dir), "E2E_REDIS_URL": redis_url,
               "E2E_SECRET_KEY": secret}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--chdir", str(HERE), "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--worker-class", "gthread", "--threads", str(threads),
             # wrk keeps its connections; between rounds they wait idle.
             "--keep-alive", "300", "--log-level", "warning", "--error-logfile", str(self.log),
             "e2e_django_site:application"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.cookies: list[str] = []
        self.rounds: list[dict] = []

    def wait_up(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"e2e_django: gunicorn for {self.label} exited:\n{self.log.read_text()}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/up")
                if c.getresponse().status == 200:
                    c.close()
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"e2e_django: gunicorn for {self.label} did not answer within 60 s:\n{self.log.read_text()}")
            time.sleep(0.1)

    def create_pool(self, count: int) -> None:
        """``count`` sessions through /login on one kept-alive connection;
        their cookies to ``cookies.txt``. The floor has none."""
        if self.key != FLOOR:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            for n in range(count):
                c.request("GET", f"/login?n={n}")
                r = c.getresponse()
                r.read()
                morsel = next((v.split(";", 1)[0] for k, v in r.getheaders() if k.lower() == "set-cookie"
                               and v.startswith(COOKIE + "=")), None)
                if r.status != 200 or morsel is None:
                    sys.exit(f"e2e_django: {self.label} /login answered {r.status} without a session cookie")
                self.cookies.append(morsel.split("=", 1)[1])
            c.close()
        self.cookie_file = self.dir / "cookies.txt"
        self.cookie_file.write_text("".join(f"{v}\n" for v in self.cookies))

    def wrk(self, seconds: float, threads: int) -> dict:
        """wrk for ``seconds`` with one connection per thread; its figures."""
        out = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(threads), "-d", f"{seconds:g}s", "--timeout", "10s",
             "-s", str(LUA), f"http://127.0.0.1:{self.port}/", "--", str(self.cookie_file), str(threads), COOKIE],
            capture_output=True, text=True,
        )
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("E2E ")), None)
        if out.returncode != 0 or line is None:
            sys.exit(f"e2e_django: wrk on {self.label} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        r = json.loads(line[4:])
        r["requests_per_s"] = r["requests"] / (r["duration_us"] / 1e6)
        bad = {k: r[k] for k in ("not_200", "lost_writes", "socket_errors", "timeouts") if r[k]}
        if bad:
            sys.exit(f"e2e_django: {self.label}: {bad}; see {self.log}:\n{self.log.read_text()[-3000:]}")
        return r

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def tool_version(*cmd: str) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def main() -> int:
    args = parse_args(
        __doc__, 24,
        ("--seconds", dict(type=float, default=3.0, help="seconds of wrk per engine and round (default 3)")),
        ("--warmup", dict(type=float, default=1.0, help="untimed seconds of wrk per engine first (default 1)")),
        ("--threads", dict(type=int, default=4,
                           help="gunicorn threads, and wrk threads = connections (default 4)")),
        sessions=1000, rounds=5,
    )
    if args.sessions < args.threads:
        sys.exit("e2e_django: --sessions must be at least --threads (every connection needs sessions)")
    if shutil.which("wrk") is None:
        sys.exit("e2e_django: wrk is not installed; `make bench-e2e` installs it")
    rng, load_before, started, tmp = begin(args.seed, "sessile-e2e-django-")
    redis = RedisServer(tmp, who="e2e_django", make_target="bench-e2e")
    secret = "e2e-bench-" + os.urandom(16).hex()
    servers = [Server(key, label, tmp, args.threads, redis.url, secret) for key, label in ENGINES]
    t_start = time.monotonic()
    try:
        for s in servers:
            s.wait_up()
            t0 = time.perf_counter()
            s.create_pool(args.sessions)
            print(f"{s.label:<30} {len(s.cookies)} sessions in {time.perf_counter() - t0:5.1f} s", flush=True)
        for s in servers:
            if args.warmup > 0:  # wrk refuses a duration of 0
                s.wrk(args.warmup, args.threads)
        print(f"timing: {args.rounds} rounds x {len(servers)} servers x {args.seconds:g} s", flush=True)
        interleaved_rounds(rng, args.rounds, servers, lambda s: s.rounds.append(s.wrk(args.seconds, args.threads)))
    finally:
        for s in servers:
            s.stop()
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - t_start

    results = summarize(servers)
    meta = environment(
        started, load_before, redis.version, "bench-e2e", sqlite=True,
        gunicorn=tool_version(sys.executable, "-m", "gunicorn", "--version"),
        wrk=tool_version("wrk", "--version"),
        request=("GET / with the session cookie: SessionMiddleware loads the session, the view reads 2 keys "
                 "and increments a counter, the middleware saves it and sets the cookie"),
        server=f"gunicorn, 1 worker, gthread, --threads {args.threads}",
        load=f"wrk -t {args.threads} -c {args.threads}: one keep-alive connection per thread, each with its cookies",
        sessions_per_engine=args.sessions, rounds=args.rounds, seconds_per_round=args.seconds,
        warmup_seconds=args.warmup, seed=args.seed, run_seconds=round(elapsed, 1),
    )
    goals = evaluate(results)
    print()
    print(results_table(results))
    print()
    print_verdicts("goal", goals)
    print_machine(meta)
    doc = {"benchmark": "e2e_django", **meta, "results": results, "goals": goals}
    write_results(args.out, "e2e_django", doc, svg_chart(results, meta))
    return 0


# --------------------------------------------------------------------------
# Reporting


def summarize(servers: list[Server]) -> list[dict]:
    base = next(s for s in servers if s.key == BASELINE)
    base_rps = [r["requests_per_s"] for r in base.rounds]
    out = []
    for s in servers:
        rps = [r["requests_per_s"] for r in s.rounds]
        per_round = [a / b for a, b in zip(rps, base_rps)]
        out.append({
            "engine": s.label,
            "requests_per_s": statistics.median(rps),
            "p50_us": statistics.median(r["p50_us"] for r in s.rounds),
            "p99_us": statistics.median(r["p99_us"] for r in s.rounds),
            "requests": sum(r["requests"] for r in s.rounds),
            "ratio_to_sessile": statistics.median(per_round),
            "per_round_ratio_to_sessile": ratio_spread(rps, base_rps),
            "rounds": [{k: r[k] for k in ("requests", "requests_per_s", "p50_us", "p99_us", "max_us")}
                       for r in s.rounds],
        })
    return out


def evaluate(results: list[dict]) -> list[dict]:
    """The goals, on the median over rounds of the paired ratios."""
    by = {r["engine"]: r for r in results}
    locmem, redis = by["cache (locmem)"], by["cache (Redis)"]
    vs_locmem = 1 / locmem["ratio_to_sessile"]
    vs_redis = 1 / redis["ratio_to_sessile"]
    return [
        {"text": "sessile req/s >= 0.95 x cache (locmem)'s", "measured": f"sessile / locmem = {vs_locmem:.2f}",
         "ratio": vs_locmem, "limit": 0.95, "met": vs_locmem >= 0.95},
        {"text": "sessile req/s >= 2 x cache (Redis)'s", "measured": f"sessile / Redis = {vs_redis:.2f}",
         "ratio": vs_redis, "limit": 2.0, "met": vs_redis >= 2.0},
    ]


def thousands(v: float) -> str:
    """``12 345``, as docs/BENCHMARKS.md writes numbers."""
    return f"{v:,.0f}".replace(",", " ")


def fmt_ratio(row: dict) -> str:
    if row["engine"] == "sessile":
        return "1.00× (baseline)"
    spread = row["per_round_ratio_to_sessile"]
    return f"{row['ratio_to_sessile']:.2f}× ({spread['min']:.2f}–{spread['max']:.2f})"


def results_table(results: list[dict]) -> str:
    titles = ["engine", "requests/s", "p99 ms", "req/s ÷ sessile's (range over rounds)"]
    return markdown_table(titles, "lrrl", ([r["engine"], thousands(r["requests_per_s"]),
                                           f"{r['p99_us'] / 1000:.2f}", fmt_ratio(r)] for r in results))


def svg_chart(results: list[dict], meta: dict) -> str:
    """Horizontal bars of requests/s (linear), the p99 and ratio beside each."""
    left, right, top, row_h = 210, 300, 96, 30
    width = 960
    plot_w = width - left - right
    height = top + row_h * len(results) + 56
    hi = max(r["requests_per_s"] for r in results)
    step = next(s for s in (100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000) if hi / s <= 8)
    ticks = int(hi // step) + 1

    def x(v: float) -> float:
        return left + v / (ticks * step) * plot_w

    esc = svg_escape
    parts = svg_open(
        width, height, 12,
        "Django under gunicorn and wrk: whole HTTP requests per second (higher is better)",
        f"GET /: load the session, read 2 keys, increment a counter, save; {esc(meta['server'])}",
        f"{esc(meta['load'])}; bar = median over {meta['rounds']} rounds",
        f'{esc(meta["date"])}, {esc(meta["cpus"])}, one run ({esc(meta["command"])})',
    )
    bottom = top + row_h * len(results)
    for t in range(ticks + 1):
        parts += svg_gridline(x(t * step), top - 6, bottom, thousands(t * step))
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{bottom + 36}" text-anchor="middle" fill="#555">'
                 f'requests / s (median over {meta["rounds"]} rounds)</text>')
    for i, r in enumerate(results):
        y = top + i * row_h
        colour = {BASELINE: "#d9480f", FLOOR_LABEL: "#adb5bd"}.get(r["engine"], "#4c6ef5")
        ratio = "baseline" if r["engine"] == BASELINE else f"{r['ratio_to_sessile']:.2f}× sessile"
        parts += [
            f'<text x="{left - 8}" y="{y + 19}" text-anchor="end">{esc(r["engine"])}</text>',
            f'<rect x="{left}" y="{y + 6}" width="{x(r["requests_per_s"]) - left:.1f}" height="{row_h - 12}" '
            f'fill="{colour}"/>',
            f'<text x="{left + plot_w + 10}" y="{y + 19}">{thousands(r["requests_per_s"])}/s · p99 '
            f'{r["p99_us"] / 1000:.1f} ms · {ratio}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.exit(main())
