#!/usr/bin/env python3
"""Django session engines side by side: one request cycle each.

One request = open the session by key (``SessionStore(session_key=...)``),
read two keys, write one, save. Measured for ``sessile.django`` and for
Django's own ``db`` (SQLite file, migrated), ``cache`` (LocMemCache),
``cache`` (RedisCache on 127.0.0.1, a redis-server started here), ``file``
and ``signed_cookies`` engines, all in one process and one run, so that the
figures compare as ratios on the same machine.

Each engine gets the same pre-populated sessions (``--sessions``, default
10 000; for signed_cookies the cookie value is the key). After a warm-up,
the timed requests go to random existing sessions in rounds: every round
runs a batch of each engine, in a fresh random order, so a noisy neighbour
slows all engines alike rather than whichever ran at that moment. Batch
sizes come from the warm-up so that each engine gets about the same wall
time (``--seconds`` in all) and the run stays within a few minutes.

Writes benches/results/django_engines.json and .svg (the chart in
docs/BENCHMARKS.md); prints the table as Markdown. Run by `make bench-python`, which
installs what it needs (the sessile package, the `redis` client,
redis-server).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from importlib import import_module
from pathlib import Path

from benchlib import (
    RedisServer, begin, close_sessile_engines, environment, interleaved_rounds, latency_us,
    markdown_table, parse_args, print_machine, print_verdicts, ratio_spread, session_data,
    svg_axis_title, svg_bar, svg_escape, svg_gridline, svg_open, timed_batch, write_results,
)

FLOOR = "floor: dict, no I/O"
SLED_FLOOR = "floor: sessile load + touch"
# (label, SessionStore module, the settings it runs under)
ENGINES = [
    ("sessile", "sessile.django", {}),
    ("db (SQLite)", "django.contrib.sessions.backends.db", {}),
    ("cache (locmem)", "django.contrib.sessions.backends.cache", {"SESSION_CACHE_ALIAS": "default"}),
    ("cache (Redis)", "django.contrib.sessions.backends.cache", {"SESSION_CACHE_ALIAS": "redis"}),
    ("file", "django.contrib.sessions.backends.file", {}),
    ("signed_cookies", "django.contrib.sessions.backends.signed_cookies", {}),
    # Not an engine: what Django's SessionBase costs per request on its own.
    (FLOOR, "(in this script)", {}),
    # Not an engine: sessile.django doing the least an engine on sled can
    # (see _sled_floor_store).
    (SLED_FLOOR, "(in this script)", {}),
]
BASELINE = "sessile"


def _dict_floor_store():
    """A SessionStore over a plain dict that copies and nothing else: no
    serialization, no I/O. The time left over for any storage is what a
    request costs minus this."""
    from django.contrib.sessions.backends.base import CreateError, SessionBase

    stored: dict[str, dict] = {}

    class SessionStore(SessionBase):
        def load(self):
            data = stored.get(self.session_key)
            if data is None:
                self._session_key = None
                return {}
            return dict(data)

        def exists(self, session_key):
            return session_key in stored

        def create(self):
            while True:
                self._session_key = self._get_new_session_key()
                try:
                    self.save(must_create=True)
                except CreateError:
                    continue
                self.modified = True
                return

        def save(self, must_create=False):
            if self.session_key is None:
                return self.create()
            if must_create and self.session_key in stored:
                raise CreateError
            stored[self.session_key] = dict(self._get_session(no_load=must_create))

        def delete(self, session_key=None):
            stored.pop(session_key or self.session_key, None)

        @classmethod
        def clear_expired(cls):
            pass

    return SessionStore


def _sled_floor_store():
    """sessile.django with a save that does only what any engine on sled
    must: pack the data, then one sled write of a record of the same size
    (``touch`` writes the session back as it was loaded, with a new
    deadline). No diff, no merge, and the change is not kept. The load is
    sessile's own (one sled read). What sessile takes beyond this row is
    the save's diff and merge of the change."""
    from sessile._engine import pack_map
    from sessile.django import SessionStore as Base

    class SessionStore(Base):
        def save(self, must_create=False):
            if self.session_key is None or must_create:
                return super().save(must_create)
            pack_map(self._get_session())
            self.get_engine().touch(self.session_key)

    return SessionStore


FLOORS = {FLOOR: _dict_floor_store, SLED_FLOOR: _sled_floor_store}


# --------------------------------------------------------------------------
# Django


def configure_django(tmp: Path, redis_port: int) -> None:
    import django
    from django.conf import settings

    (tmp / "files").mkdir()
    settings.configure(
        DEBUG=False,
        SECRET_KEY="django-engines-bench-" + os.urandom(16).hex(),
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.sessions"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp / "db.sqlite3")}},
        CACHES={
            # LocMemCache culls at 300 entries by default, which would evict
            # most of the sessions: room for all of them.
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                        "LOCATION": "sessions", "OPTIONS": {"MAX_ENTRIES": 1_000_000}},
            "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                      "LOCATION": f"redis://127.0.0.1:{redis_port}/0"},
        },
        SESSION_FILE_PATH=str(tmp / "files"),
        SESSILE_PATH=str(tmp / "sessile"),
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def use_settings(values: dict) -> None:
    from django.conf import settings

    for name, value in values.items():
        setattr(settings, name, value)


def populate(store_cls, settings_values: dict, count: int) -> list[str]:
    """``count`` sessions saved through the engine itself; their keys."""
    from django.db import transaction

    use_settings(settings_values)
    keys = []
    # One transaction for the db engine's inserts (others ignore it): the
    # filling is not what is measured.
    with transaction.atomic():
        for n in range(count):
            s = store_cls()
            s.update(session_data(n))
            s.save()
            keys.append(s.session_key)
    return keys


# --------------------------------------------------------------------------
# The measured request


def run_batch(store_cls, keys: list[str], picks: list[int], counter: int, out: list[int] | None) -> int:
    """One request per pick; appends each request's ns to ``out``; returns the wall ns."""
    clock = time.perf_counter_ns
    start = clock()
    for i in picks:
        t0 = clock()
        s = store_cls(session_key=keys[i])
        s["_auth_user_id"]
        s["_auth_user_hash"]
        counter += 1
        s["last_request"] = counter
        s.save()
        t1 = clock()
        if out is not None:
            out.append(t1 - t0)
        # A browser sends back what it was sent (signed_cookies re-signs).
        keys[i] = s.session_key
    return clock() - start


def main() -> int:
    args = parse_args(
        __doc__, 6,
        ("--seconds", dict(type=float, default=20.0,
                           help="timed wall seconds per engine, over all rounds (default 20)")),
        ("--max-requests", dict(type=int, default=60_000,
                                help="at most this many timed requests per engine (default 60000)")),
        ("--warmup", dict(type=int, default=1_000, help="untimed requests per engine first (default 1000)")),
    )
    rng, load_before, started, tmp = begin(args.seed, "sessile-django-bench-")
    redis = RedisServer(tmp, who="django_engines", make_target="bench-python")
    try:
        configure_django(tmp, redis.port)
        engines = []
        for label, module, values in ENGINES:
            store_cls = FLOORS[label]() if label in FLOORS else import_module(module).SessionStore
            t0 = time.perf_counter()
            keys = populate(store_cls, values, args.sessions)
            print(f"{label:<15} {args.sessions} sessions in {time.perf_counter() - t0:5.1f} s", flush=True)
            engines.append({"label": label, "module": module, "settings": values, "cls": store_cls,
                            "keys": keys, "samples": [], "wall_ns": 0, "rounds": []})

        counter = 0
        # Warm-up: caches, connections, code paths; its timing sizes the batches.
        for e in engines:
            use_settings(e["settings"])
            picks = [rng.randrange(args.sessions) for _ in range(args.warmup)]
            wall = run_batch(e["cls"], e["keys"], picks, counter, None)
            counter += len(picks)
            per_request = wall / len(picks)
            total = int(args.seconds * 1e9 / per_request)
            e["batch"] = max(20, min(args.max_requests, total) // args.rounds)

        print(f"timing: {args.rounds} rounds, batches "
              + ", ".join(f"{e['label']} {e['batch']}" for e in engines), flush=True)

        def timed(e: dict) -> None:
            nonlocal counter
            use_settings(e["settings"])
            picks = [rng.randrange(args.sessions) for _ in range(e["batch"])]
            wall, samples = timed_batch(lambda out: run_batch(e["cls"], e["keys"], picks, counter, out))
            e["wall_ns"] += wall
            counter += len(picks)
            e["samples"].extend(samples)
            e["rounds"].append(statistics.median(samples))

        interleaved_rounds(rng, args.rounds, engines, timed)
    finally:
        close_sessile_engines()
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    results = summarize(engines)
    meta = environment(
        started, load_before, redis.version, "bench-python", sqlite=True,
        request="SessionStore(session_key=key); read 2 keys; write 1; save()",
        sessions_per_engine=args.sessions, rounds=args.rounds, seconds_per_engine=args.seconds, seed=args.seed,
    )
    targets = evaluate(results)
    print()
    print(results_table(results))
    print()
    print_verdicts("target", targets)
    print_machine(meta)

    doc = {"benchmark": "django_engines", **meta, "results": results, "targets": targets}
    write_results(args.out, "django_engines", doc, svg_chart(results, meta))
    return 0


# --------------------------------------------------------------------------
# Reporting


def summarize(engines: list[dict]) -> list[dict]:
    base = next(e for e in engines if e["label"] == BASELINE)
    out = []
    for e in engines:
        ordered = sorted(e["samples"])
        out.append({
            "engine": e["label"],
            "module": e["module"],
            **latency_us(ordered),
            "mean_us": statistics.fmean(ordered) / 1000,
            "requests_per_s": len(ordered) / (e["wall_ns"] / 1e9),
            "round_medians_us": [round(m / 1000, 2) for m in e["rounds"]],
            "per_round_ratio_to_sessile": ratio_spread(e["rounds"], base["rounds"]),
        })
    base_median = out[0]["median_us"]
    for row in out:
        row["ratio_to_sessile"] = row["median_us"] / base_median
    return out


def evaluate(results: list[dict]) -> list[dict]:
    by = {r["engine"]: r for r in results}
    s, locmem, db = by["sessile"]["median_us"], by["cache (locmem)"]["median_us"], by["db (SQLite)"]["median_us"]
    bound = by[SLED_FLOOR]["median_us"]
    return [
        # Not a target: the same ratios for the sled floor row, the least an
        # engine on sled takes in this harness.
        {"text": "(bound) sled floor row <= 0.5 x locmem time",
         "measured": f"floor / locmem = {bound / locmem:.2f}; db / floor = {db / bound:.1f}x",
         "ratio": bound / locmem, "limit": 0.5, "met": bound / locmem <= 0.5},
        {"text": "sessile <= 0.5 x locmem time", "measured": f"sessile / locmem = {s / locmem:.2f}",
         "ratio": s / locmem, "limit": 0.5, "met": s / locmem <= 0.5},
        {"text": "sessile >= 100 x faster than SQLite db", "measured": f"db / sessile = {db / s:.1f}x",
         "ratio": db / s, "limit": 100, "met": db / s >= 100},
    ]


def fmt_ratio(row: dict) -> str:
    if row["engine"] == BASELINE:
        return "1.0x (baseline)"
    spread = row["per_round_ratio_to_sessile"]
    return (f"{row['engine']} / sessile = {row['ratio_to_sessile']:.2f}x "
            f"({spread['min']:.2f}–{spread['max']:.2f} over rounds)")


def results_table(results: list[dict]) -> str:
    titles = ["engine", "median µs/request", "p99 µs", "requests/s", "vs sessile (median)"]
    return markdown_table(titles, "lrrrl", ([r["engine"], f"{r['median_us']:.1f}", f"{r['p99_us']:.1f}",
                                             f"{r['requests_per_s']:,.0f}", fmt_ratio(r)] for r in results))


def svg_chart(results: list[dict], meta: dict) -> str:
    """Horizontal bars of the median µs/request on a log axis, p99 as a tick."""
    import math

    left, right, top, row_h = 150, 250, 76, 34
    width = 860
    plot_w = width - left - right
    height = top + row_h * len(results) + 56
    hi = max(r["p99_us"] for r in results)
    lo_exp = math.floor(math.log10(min(r["median_us"] for r in results)))
    hi_exp = math.ceil(math.log10(hi))
    if hi_exp == lo_exp:
        hi_exp += 1

    def x(us: float) -> float:
        return left + (math.log10(max(us, 10**lo_exp)) - lo_exp) / (hi_exp - lo_exp) * plot_w

    esc = svg_escape
    parts = svg_open(
        width, height, left,
        "Django session engines: one request (open by key, read 2, write 1, save)",
        "µs per request, log scale; bar = median, tick = p99; ratio = time / sessile's time",
        f'{esc(meta["date"])}, {esc(meta["cpus"])}, one run ({esc(meta["command"])})',
    )
    bottom = top + row_h * len(results)
    for e in range(lo_exp, hi_exp + 1):
        label = f"{10**e:g}" if e >= 0 else f"{10.0**e:g}"
        parts += svg_gridline(x(10**e), top - 6, bottom, label)
    parts.append(svg_axis_title(left + plot_w / 2, bottom))
    for i, r in enumerate(results):
        colour = {BASELINE: "#d9480f", FLOOR: "#adb5bd", SLED_FLOOR: "#adb5bd"}.get(r["engine"], "#4c6ef5")
        ratio = "baseline" if r["engine"] == BASELINE else f"{r['ratio_to_sessile']:.2g}x"
        parts += svg_bar(r["engine"], left, top + i * row_h, x(r["median_us"]), x(r["p99_us"]), colour,
                         f'{r["median_us"]:.1f} µs (p99 {r["p99_us"]:.0f}) · {ratio}', left + plot_w + 10,
                         text_y=20, bar_y=7, bar_h=row_h - 14, mid=17, tick=7)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.exit(main())
