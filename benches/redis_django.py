#!/usr/bin/env python3
"""sessile's Redis store against Django's own Redis session engine, side by
side on one local redis-server: round trips, commands and time per request,
and Redis memory per session.

The two engines, each a real Django ``SessionMiddleware`` around a view:
- ``sessile.django`` with ``SESSILE_URL = "redis://…"`` (sessile's Redis
  store, src/store/redis.rs, through the C ABI and cffi);
- ``django.contrib.sessions.backends.cache`` over
  ``django.core.cache.backends.redis.RedisCache`` (redis-py, pinned in
  benches/requirements-bench.txt).

Request kinds, each one middleware call as Django serves a request:
- ``read``: the cookie names an existing session; the view reads two keys
  and changes nothing (Django saves nothing then);
- ``changed``: the same, and the view sets one key (load, modify, save);
- ``new``: no cookie; the view stores a logged-in user's data (~250 B),
  the middleware creates the session and sets the cookie.

Round trips are counted, not inferred: a counting pass sends a few hundred
requests of each kind through a TCP proxy in this script (RoundTripCounter)
that counts, on every client connection, each burst of client bytes that
follows a server reply. A pipeline (``MULTI; SET; EXEC`` written at once)
is one round trip; ``WATCH`` then ``GET`` then ``MULTI…EXEC`` are three.
The same pass reads ``INFO commandstats`` before and after, so commands
per request are shown next to round trips. The counter is first checked on
the bare command sequences below, whose round trips are known (the run
stops if it counts otherwise). The timed pass talks to
redis-server directly (no proxy), in interleaved rounds: every round runs a
batch of each engine for each kind, in a fresh random order, so a noisy
neighbour slows both alike. ``INFO`` around each timed batch gives the
server's time per request: executing its commands, and all of
redis-server's CPU.

Also timed: the bare Redis command sequences behind a changed request
(redis-py on one raw connection, no Django), to show what one round trip
costs here, and what sessile's compare-and-set script saves over the
``WATCH``/``MULTI`` transaction it replaced (with or without ``WATCH`` and
``GET`` pipelined).

Memory: ``--memory-sessions`` (default 100 000) sessions of the same data
created through each engine into an emptied redis-server; ``used_memory``
after minus before, per session. Measured on the plain server and again on
a second redis-server started with ``--cluster-enabled yes`` that owns all
16384 slots (a cluster node keeps a per-key slot index). sessile's
sessions are then moved off the cluster node slot by slot, as
``redis-cli --cluster reshard`` moves them (``MIGRATE … KEYS``, 10 keys a
call): sessions per second, and how long each call blocks both servers.

Every redis-server is started here on a free 127.0.0.1 port with
persistence off, and stopped at the end.

    make bench-redis                     # installs what it needs, runs this and the Node side
    bindings/python/.venv/bin/python benches/redis_django.py [--sessions N] [--rounds N]
        [--batch N] [--count-requests N] [--memory-sessions N] [--out DIR]

Writes benches/results/redis_django.json and .svg; prints the tables.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import sys
import threading
import time

from benchlib import (
    RedisServer, begin, close_sessile_engines, environment, interleaved_rounds, latency_us,
    markdown_table, parse_args, percentile, print_machine, print_verdicts, ratio_spread,
    session_data, svg_axis_title, svg_bar, svg_escape, svg_gridline, svg_open, timed_batch,
    write_results,
)

SESSILE = "sessile.django (Redis)"
DJANGO = "Django cache (RedisCache)"
KINDS = ("read", "changed", "new")
KIND_TEXT = {
    "read": "read-only: load, read 2 keys",
    "changed": "changed: load, read 2 keys, set 1, save",
    "new": "new: create with ~250 B, set cookie",
}


# --------------------------------------------------------------------------
# A proxy to redis-server that counts round trips, and the server's own counters


class RoundTripCounter:
    """A TCP proxy to redis-server that counts round trips.

    On each client connection, bytes from the client that follow a reply
    from the server (or open the connection) start a round trip; more
    client bytes before the server's next reply belong to the same one, as
    a pipeline's do. Each direction notes its bytes under one lock before
    forwarding them, so a reply is always noted before the client can send
    again. (A client that wrote one pipeline in two pieces slowly enough for
    the server to answer the first piece in between would count twice; the
    clients here write a pipeline in one piece, and the counts come out as
    whole numbers.)
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.round_trips = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def snapshot(self) -> tuple[int, int, int]:
        with self.lock:
            return self.round_trips, self.bytes_up, self.bytes_down

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            last = ["server"]
            threading.Thread(target=self._pump, args=(client, upstream, True, last), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False, last), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, up: bool, last: list[str]) -> None:
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                with self.lock:
                    if up:
                        if last[0] != "client":
                            self.round_trips += 1
                            last[0] = "client"
                        self.bytes_up += len(data)
                    else:
                        last[0] = "server"
                        self.bytes_down += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.closed = True
        self.listener.close()


def server_counters(client) -> tuple[dict[str, int], int, float]:
    """From ``INFO``: calls per command and the µs spent executing them
    (commandstats, without INFO itself), and the server's CPU seconds
    (``used_cpu_user`` + ``used_cpu_sys``: parsing and socket I/O too)."""
    stats = client.info("commandstats")
    cpu = client.info("cpu")
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()
             if name != "cmdstat_info"}
    usec = sum(int(v["usec"]) for name, v in stats.items() if name != "cmdstat_info")
    return calls, usec, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


# --------------------------------------------------------------------------
# Django


def configure_django(direct_url: str, counted_url: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="redis-bench-" + os.urandom(16).hex(),
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.sessions"],
        DATABASES={},
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": direct_url},
            "redis-counted": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": counted_url},
        },
        SESSION_ENGINE="sessile.django",
        SESSILE_URL=direct_url,
    )
    django.setup()


def engine_settings(label: str, url: str, cache_alias: str) -> dict:
    if label == SESSILE:
        return {"SESSION_ENGINE": "sessile.django", "SESSILE_URL": url}
    return {"SESSION_ENGINE": "django.contrib.sessions.backends.cache", "SESSION_CACHE_ALIAS": cache_alias}


class Engine:
    """One engine as a site runs it: SessionMiddleware around a view, under
    its settings (entered around each batch, outside the timed requests).
    ``url`` is sessile's server; Django's is the one ``cache_alias`` names."""

    def __init__(self, label: str, url: str, cache_alias: str = "redis") -> None:
        from django.contrib.sessions.middleware import SessionMiddleware
        from django.test.utils import override_settings

        self.label = label
        self.settings = engine_settings(label, url, cache_alias)
        self.override = override_settings(**self.settings)
        with self.override:
            self.middleware = SessionMiddleware(view)
        self.cookies: list[str] = []
        self.samples = {k: [] for k in KINDS}
        self.rounds = {k: [] for k in KINDS}
        self.wall_ns = {k: 0 for k in KINDS}
        # redis-server's time for the timed requests: executing their
        # commands (µs), and all of its CPU (s).
        self.server_usec = {k: 0 for k in KINDS}
        self.server_cpu = {k: 0.0 for k in KINDS}

    def __enter__(self):
        self.override.enable()
        return self

    def __exit__(self, *exc):
        self.override.disable()


def view(request):
    from django.http import HttpResponse

    s = request.session
    if request.kind == "new":
        s.update(session_data(request.n))
    else:
        # KeyError (a 500 in a site) if the session did not load.
        s["_auth_user_id"]
        s["_auth_user_hash"]
        if request.kind == "changed":
            s["last_request"] = request.n
    return HttpResponse("ok")


def one_request(engine: Engine, kind: str, i: int, n: int):
    from django.conf import settings
    from django.http import HttpRequest

    request = HttpRequest()
    request.method = "GET"
    request.path = "/"
    request.kind = kind
    request.n = n
    if kind != "new":
        request.COOKIES[settings.SESSION_COOKIE_NAME] = engine.cookies[i]
    response = engine.middleware(request)
    if response.status_code != 200:
        raise RuntimeError(f"{engine.label}: {kind} request answered {response.status_code}")
    return response


def populate(engine: Engine, count: int) -> None:
    from django.conf import settings

    with engine:
        for n in range(count):
            response = one_request(engine, "new", 0, n)
            engine.cookies.append(response.cookies[settings.SESSION_COOKIE_NAME].value)


_sequence = iter(range(1, 1 << 62))


def run_batch(engine: Engine, kind: str, picks: list[int], out: list[int] | None) -> int:
    """One request per pick; each request's ns appended to ``out``; the wall ns.
    A changed request stores a value never stored before."""
    clock = time.perf_counter_ns
    sequence = _sequence
    start = clock()
    for i in picks:
        t0 = clock()
        one_request(engine, kind, i, next(sequence))
        t1 = clock()
        if out is not None:
            out.append(t1 - t0)
    return clock() - start


# --------------------------------------------------------------------------
# The bare command sequences behind a changed request (redis-py, one raw
# connection, no Django): what a round trip costs, and what could be saved.

CAS_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return current
"""

RAW_SEQUENCES = [
    # (label, round trips, what it is)
    ("GET", 1, "a read-only request's load (both engines)"),
    ("GET; SET PX", 2, "Django cache's changed request"),
    ("GET; WATCH; GET; MULTI SET EXEC", 4, "sessile's changed request before the script (WATCH/MULTI)"),
    ("GET; WATCH+GET; MULTI SET EXEC", 3, "WATCH and GET written as one pipeline"),
    ("GET; EVALSHA compare-and-set", 2, "sessile's changed request: SET if the value is still the one loaded"),
]


class RawSequences:
    def __init__(self, port: int, keys: int = 1000) -> None:
        import redis

        self.client = redis.Redis(host="127.0.0.1", port=port)
        self.conn = self.client.connection_pool.get_connection()
        self.keys = [f"raw:{i:032d}".encode() for i in range(keys)]
        self.values = {k: os.urandom(300) for k in self.keys}
        for k, v in self.values.items():
            self.client.set(k, v, px=86_400_000)
        self.sha = self.client.script_load(CAS_SCRIPT)

    def _call(self, *commands) -> list:
        c = self.conn
        c.send_packed_command(c.pack_commands(commands))
        return [c.read_response() for _ in commands]

    def run(self, label: str, picks: list[int], out: list[int]) -> int:
        clock = time.perf_counter_ns
        call = self._call
        start = clock()
        for i in picks:
            k = self.keys[i]
            t0 = clock()
            (v,) = call(("GET", k))
            if label != "GET":
                new = v[:-1] + bytes([(v[-1] + 1) & 0xFF])
                if label == "GET; SET PX":
                    call(("SET", k, new, "PX", 86_400_000))
                elif label == "GET; WATCH; GET; MULTI SET EXEC":
                    call(("WATCH", k))
                    call(("GET", k))
                    _, _, done = call(("MULTI",), ("SET", k, new, "PX", 86_400_000), ("EXEC",))
                    assert done is not None
                elif label == "GET; WATCH+GET; MULTI SET EXEC":
                    call(("WATCH", k), ("GET", k))
                    _, _, done = call(("MULTI",), ("SET", k, new, "PX", 86_400_000), ("EXEC",))
                    assert done is not None
                else:
                    (done,) = call(("EVALSHA", self.sha, 1, k, v, new, 86_400_000))
                    assert done == 1
            out.append(clock() - t0)
        return clock() - start

    def close(self) -> None:
        self.client.connection_pool.release(self.conn)
        self.client.close()


# --------------------------------------------------------------------------
# Memory per session


def memory_per_session(server: RedisServer, label: str, count: int, keep: bool = False) -> dict:
    """``count`` sessions created through the engine into the emptied server
    (left there if ``keep``)."""
    from django.conf import settings
    from django.test.utils import override_settings
    from sessile.django import close_engines

    c = server.client
    c.flushall()
    close_engines()
    time.sleep(0.2)  # let lazy frees finish before the baseline
    before = int(c.info("memory")["used_memory"])
    caches = {**settings.CACHES, "redis-memory": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                                  "LOCATION": server.url}}
    with override_settings(CACHES=caches):
        engine = Engine(label, server.url, "redis-memory")
        with engine:
            for n in range(count):
                s = engine.middleware.SessionStore()
                s.update(session_data(n))
                s.save()
    after = int(c.info("memory")["used_memory"])
    keys = c.dbsize()
    # sessile.django keeps its owner index (on by default: "log out
    # everywhere") in Redis too: a hash per user and one string naming the
    # owner key, counted in the memory per session, as a site pays them.
    owner_hashes = sum(1 for _ in c.scan_iter(count=1000, _type="hash"))
    records = keys - owner_hashes - (1 if owner_hashes else 0)
    if records != count:
        sys.exit(f"redis_django: {label} stored {records} records ({keys} keys) for {count} sessions")
    sample = []
    while len(sample) < 200:
        k = c.randomkey()
        if c.type(k) == b"string" and not k.endswith(b"owner-key"):
            sample.append(k)
    usage = [c.memory_usage(k) for k in sample]
    value_len = [c.strlen(k) for k in sample]
    close_engines()
    if not keep:
        c.flushall()
    return {
        "engine": label,
        "sessions": count,
        "keys": keys,
        "owner_hashes": owner_hashes,
        "used_memory_delta": after - before,
        "bytes_per_session": (after - before) / count,
        "key_bytes": round(statistics.fmean(len(k) for k in sample)),
        "value_bytes": round(statistics.fmean(value_len)),
        "memory_usage_key": round(statistics.fmean(usage)),
    }


def migrate_sessions(source: RedisServer, target: RedisServer, per_call: int = 10) -> dict:
    """Every key of the cluster node ``source`` moved to ``target`` the way
    ``redis-cli --cluster reshard`` moves a slot: slot by slot,
    ``CLUSTER GETKEYSINSLOT`` then ``MIGRATE … KEYS`` with ``per_call``
    keys a call (its ``--cluster-pipeline``, 10 by default). Each call
    blocks both servers until its keys are moved: its time is how long a
    session being moved can be neither read nor written."""
    c = source.client
    moved = c.dbsize()
    times = []
    start = time.perf_counter_ns()
    for slot in range(16384):
        while True:
            keys = c.execute_command("CLUSTER", "GETKEYSINSLOT", slot, per_call)
            if not keys:
                break
            t0 = time.perf_counter_ns()
            c.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
            times.append(time.perf_counter_ns() - t0)
    wall = (time.perf_counter_ns() - start) / 1e9
    if c.dbsize() != 0 or target.client.dbsize() != moved:
        sys.exit("redis_django: MIGRATE left keys behind")
    times.sort()
    return {"sessions": moved, "keys_per_call": per_call, "calls": len(times), "seconds": wall,
            "sessions_per_s": moved / wall,
            "call_median_us": percentile(times, 0.5) / 1000, "call_p99_us": percentile(times, 0.99) / 1000}


# --------------------------------------------------------------------------


def main() -> int:
    args = parse_args(
        __doc__, 22,
        ("--batch", dict(type=int, default=1_500, help="requests per engine, kind and round (default 1500)")),
        ("--warmup", dict(type=int, default=500, help="untimed requests per engine and kind first")),
        ("--count-requests", dict(type=int, default=500,
                                  help="requests per engine and kind in the counting pass (default 500)")),
        ("--memory-sessions", dict(type=int, default=100_000,
                                   help="sessions per engine for the memory figures (default 100000; 0 skips)")),
    )
    rng, load_before, started, tmp = begin(args.seed, "sessile-redis-bench-")
    servers: list[RedisServer] = []
    proxy = None
    try:
        server = RedisServer(tmp, who="redis_django", make_target="bench-redis")
        servers.append(server)
        proxy = RoundTripCounter(server.port)
        configure_django(server.url, proxy.url)
        from sessile.django import close_engines

        # ---- counting pass: through the proxy, a few hundred requests each
        counted = [Engine(SESSILE, proxy.url), Engine(DJANGO, proxy.url, "redis-counted")]
        counts: dict[str, dict[str, dict]] = {}
        for e in counted:
            populate(e, 200)
            counts[e.label] = {}
            for kind in KINDS:
                with e:
                    # Warm: connections opened (their handshakes are not
                    # a request's), code paths taken.
                    run_batch(e, kind, [rng.randrange(200) for _ in range(20)], None)
                    rt0, up0, down0 = proxy.snapshot()
                    calls0, _, _ = server_counters(server.client)
                    n = args.count_requests
                    run_batch(e, kind, [rng.randrange(200) for _ in range(n)], None)
                    rt1, up1, down1 = proxy.snapshot()
                    calls1, _, _ = server_counters(server.client)
                per_cmd = {c: (calls1[c] - calls0.get(c, 0)) / n for c in calls1
                           if calls1[c] != calls0.get(c, 0)}
                counts[e.label][kind] = {
                    "round_trips": (rt1 - rt0) / n,
                    "commands": sum(per_cmd.values()),
                    "by_command": {c.upper(): round(v, 3) for c, v in sorted(per_cmd.items())},
                    "bytes_sent": (up1 - up0) / n,
                    "bytes_received": (down1 - down0) / n,
                }
            print(f"{e.label}: " + "; ".join(
                f"{k} {counts[e.label][k]['round_trips']:.2f} round trips "
                f"({' '.join(counts[e.label][k]['by_command'])})" for k in KINDS), flush=True)
        # The counter checked on sequences whose round trips are known:
        # one per write the client makes before it reads a reply.
        checked = RawSequences(proxy.port, keys=50)
        proxy_check = {}
        for label, trips, _ in RAW_SEQUENCES:
            before = proxy.snapshot()[0]
            checked.run(label, [rng.randrange(50) for _ in range(100)], [])
            proxy_check[label] = (proxy.snapshot()[0] - before) / 100
            if proxy_check[label] != trips:
                sys.exit(f"redis_django: the proxy counted {proxy_check[label]} round trips for "
                         f"{label!r}, which makes {trips}")
        checked.close()
        print("proxy check: " + "; ".join(f"{k} {v:g}" for k, v in proxy_check.items()), flush=True)
        close_engines()
        proxy.close()
        server.client.flushall()

        # ---- timed pass: direct to redis-server
        engines = [Engine(SESSILE, server.url), Engine(DJANGO, server.url)]
        for e in engines:
            t0 = time.perf_counter()
            populate(e, args.sessions)
            print(f"{e.label:<26} {args.sessions} sessions in {time.perf_counter() - t0:5.1f} s", flush=True)
        raw = RawSequences(server.port)
        raw_samples = {label: [] for label, _, _ in RAW_SEQUENCES}
        raw_rounds = {label: [] for label, _, _ in RAW_SEQUENCES}

        for e in engines:
            with e:
                for kind in KINDS:
                    run_batch(e, kind, [rng.randrange(args.sessions) for _ in range(args.warmup)], None)
        for label, _, _ in RAW_SEQUENCES:
            raw.run(label, [rng.randrange(len(raw.keys)) for _ in range(args.warmup)], [])

        print(f"timing: {args.rounds} rounds of {args.batch} requests per engine and kind", flush=True)

        def timed(job: tuple) -> None:
            what, e, kind = job
            if what == "raw":
                _, samples = timed_batch(
                    lambda out: raw.run(e, [rng.randrange(len(raw.keys)) for _ in range(args.batch // 2)], out))
                raw_samples[e].extend(samples)
                raw_rounds[e].append(statistics.median(samples))
                return

            def batch(out: list[int]) -> int:
                picks = [rng.randrange(args.sessions) for _ in range(args.batch)]
                _, usec0, cpu0 = server_counters(server.client)
                with e:
                    wall = run_batch(e, kind, picks, out)
                _, usec1, cpu1 = server_counters(server.client)
                e.server_usec[kind] += usec1 - usec0
                e.server_cpu[kind] += cpu1 - cpu0
                return wall

            wall, samples = timed_batch(batch)
            e.wall_ns[kind] += wall
            e.samples[kind].extend(samples)
            e.rounds[kind].append(statistics.median(samples))

        jobs = [("engine", e, kind) for e in engines for kind in KINDS]
        jobs += [("raw", label, None) for label, _, _ in RAW_SEQUENCES]
        interleaved_rounds(rng, args.rounds, jobs, timed)
        raw.close()
        close_engines()

        # ---- memory per session
        memory = []
        migrations: list[dict] = []
        if args.memory_sessions:
            cluster = RedisServer(tmp, "--cluster-enabled", "yes", "--cluster-config-file", str(tmp / "nodes.conf"),
                                  who="redis_django", make_target="bench-redis")
            servers.append(cluster)
            # ADDSLOTS, not ADDSLOTSRANGE: the latter is Redis 7.0+, and apt
            # may install 6.x.
            cluster.client.execute_command("CLUSTER", "ADDSLOTS", *range(16384))
            deadline = time.monotonic() + 10
            while cluster.client.execute_command("CLUSTER", "INFO").decode().find("cluster_state:ok") < 0:
                if time.monotonic() > deadline:
                    sys.exit("redis_django: the one-node cluster did not reach cluster_state:ok")
                time.sleep(0.1)
            for srv, mode in ((server, "standalone"), (cluster, "cluster node (all 16384 slots)")):
                for label in (SESSILE, DJANGO):
                    t0 = time.perf_counter()
                    keep = srv is cluster and label == SESSILE
                    m = memory_per_session(srv, label, args.memory_sessions, keep=keep)
                    m["server"] = mode
                    memory.append(m)
                    print(f"memory, {mode}, {label}: {m['bytes_per_session']:.0f} B per session "
                          f"({args.memory_sessions} in {time.perf_counter() - t0:.0f} s)", flush=True)
                    if keep:
                        # Resharding's cost per session: sessile's sessions
                        # moved off the cluster node, slot by slot.
                        g = migrate_sessions(cluster, server)
                        migrations.append(g)
                        print(f"MIGRATE, {g['keys_per_call']} keys a call: {g['sessions_per_s']:,.0f} "
                              f"sessions/s, a call blocks {g['call_median_us']:.0f} µs "
                              f"(p99 {g['call_p99_us']:.0f})", flush=True)
                        server.client.flushall()
    finally:
        close_sessile_engines()
        if proxy is not None:
            proxy.close()
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    results = summarize(engines, counts)
    raw_results = summarize_raw(raw_samples, raw_rounds)
    for r in raw_results:
        r["round_trips_counted_by_proxy"] = proxy_check[r["sequence"]]
    meta = environment(
        started, load_before, server.version, "bench-redis",
        sessions_per_engine=args.sessions, rounds=args.rounds, batch=args.batch,
        count_requests=args.count_requests, memory_sessions=args.memory_sessions, seed=args.seed,
    )
    goals = evaluate(results)
    print()
    print(results_table(results))
    print()
    print(raw_table(raw_results))
    if memory:
        print()
        print(memory_table(memory))
    for g in migrations:
        print(f"MIGRATE {g['sessions']} sessile sessions, {g['keys_per_call']} keys a call: "
              f"{g['sessions_per_s']:,.0f} sessions/s; each call blocks both servers "
              f"{g['call_median_us']:.0f} µs (p99 {g['call_p99_us']:.0f})")
    print()
    print_verdicts("goal", goals)
    print_machine(meta)

    doc = {"benchmark": "redis_django", **meta, "results": results, "raw_sequences": raw_results,
           "memory": memory, "migrate": migrations, "goals": goals}
    write_results(args.out, "redis_django", doc, svg_chart(results, meta), ensure_ascii=False)
    return 0


# --------------------------------------------------------------------------
# Reporting


def summarize(engines: list[Engine], counts: dict) -> list[dict]:
    by = {e.label: e for e in engines}
    out = []
    for kind in KINDS:
        base = by[SESSILE]
        for e in engines:
            ordered = sorted(e.samples[kind])
            out.append({
                "kind": kind,
                "request": KIND_TEXT[kind],
                "engine": e.label,
                **counts[e.label][kind],
                **latency_us(ordered),
                "requests_per_s": len(ordered) / (e.wall_ns[kind] / 1e9),
                # What a request costs the server: executing its commands
                # (commandstats), and all of redis-server's CPU over the
                # timed batches (socket I/O and its event loop too, and its
                # background cron, about 1.5 ms a second when idle here).
                "server_command_us": e.server_usec[kind] / len(ordered),
                "server_cpu_us": e.server_cpu[kind] * 1e6 / len(ordered),
                "round_medians_us": [round(m / 1000, 1) for m in e.rounds[kind]],
                "per_round_ratio_to_sessile": ratio_spread(e.rounds[kind], base.rounds[kind]),
            })
    for row in out:
        base = next(r for r in out if r["kind"] == row["kind"] and r["engine"] == SESSILE)
        row["ratio_to_sessile"] = row["median_us"] / base["median_us"]
    return out


def summarize_raw(samples: dict, rounds: dict) -> list[dict]:
    out = []
    for label, trips, what in RAW_SEQUENCES:
        ordered = sorted(samples[label])
        out.append({"sequence": label, "round_trips": trips, "what": what, **latency_us(ordered),
                    "round_medians_us": [round(m / 1000, 1) for m in rounds[label]]})
    return out


def evaluate(results: list[dict]) -> list[dict]:
    row = {(r["kind"], r["engine"]): r for r in results}
    goals = []
    s, d = row[("read", SESSILE)], row[("read", DJANGO)]
    goals.append({"text": "read-only: sessile round trips <= Django cache's",
                  "measured": f"{s['round_trips']:.2f} vs {d['round_trips']:.2f}",
                  "met": s["round_trips"] <= d["round_trips"]})
    s, d = row[("changed", SESSILE)], row[("changed", DJANGO)]
    goals.append({"text": "changed: sessile round trips <= Django cache's + 1",
                  "measured": f"{s['round_trips']:.2f} vs {d['round_trips']:.2f}",
                  "met": s["round_trips"] <= d["round_trips"] + 1})
    for kind in KINDS:
        s, d = row[(kind, SESSILE)], row[(kind, DJANGO)]
        goals.append({"text": f"{kind}: sessile median time <= Django cache's",
                      "measured": f"{s['median_us']:.1f} vs {d['median_us']:.1f} µs "
                                  f"(Django cache / sessile = {d['ratio_to_sessile']:.2f}x)",
                      "met": s["median_us"] <= d["median_us"]})
    return goals


def results_table(results: list[dict]) -> str:
    def row(r: dict) -> list[str]:
        cmds = ", ".join(f"{c} {v:g}" if v != 1 else c for c, v in r["by_command"].items())
        spread = r["per_round_ratio_to_sessile"]
        ratio = ("1.00×" if r["engine"] == SESSILE
                 else f"{r['ratio_to_sessile']:.2f}× ({spread['min']:.2f}–{spread['max']:.2f})")
        return [r["kind"], r["engine"], f"{r['round_trips']:.2f}", cmds, f"{r['median_us']:.1f}",
                f"{r['p99_us']:.1f}", f"{r['requests_per_s']:,.0f}", ratio,
                f"{r['server_command_us']:.1f} / {r['server_cpu_us']:.0f}"]

    titles = ["request", "engine", "round trips", "commands", "median µs", "p99 µs", "requests/s",
              "÷ sessile (median; over rounds)", "server µs: commands / CPU"]
    return markdown_table(titles, "llrlrrrlr", map(row, results))


def raw_table(raw: list[dict]) -> str:
    titles = ["bare commands (redis-py, one connection)", "round trips", "median µs", "p99 µs", "what"]
    return markdown_table(titles, "lrrrl", ([r["sequence"], str(r["round_trips"]), f"{r['median_us']:.1f}",
                                             f"{r['p99_us']:.1f}", r["what"]] for r in raw))


def memory_table(memory: list[dict]) -> str:
    titles = ["server", "engine", "bytes per session (used_memory)", "key B", "value B", "MEMORY USAGE B"]
    return markdown_table(titles, "llrrrr", ([m["server"], m["engine"], f"{m['bytes_per_session']:.0f}",
                                              str(m["key_bytes"]), str(m["value_bytes"]),
                                              str(m["memory_usage_key"])] for m in memory))


def svg_chart(results: list[dict], meta: dict) -> str:
    """Per request kind, one bar per engine on a log axis: median µs (p99 as
    a tick), round trips and the ratio to sessile beside it."""
    import math

    left, right, top, row_h, head_h = 200, 320, 76, 26, 22
    width = 920
    plot_w = width - left - right
    height = top + len(results) * row_h + len(KINDS) * head_h + 50
    lo = 10 ** math.floor(math.log10(min(r["median_us"] for r in results)))
    hi = max(lo * 10, 1.15 * max(r["p99_us"] for r in results))

    def x(us: float) -> float:
        return left + math.log10(max(us, lo) / lo) / math.log10(hi / lo) * plot_w

    esc = svg_escape
    parts = svg_open(
        width, height, 8,
        "Django sessions on one local redis-server: sessile vs the cache engine on RedisCache",
        "µs per request through SessionMiddleware, log scale; bar = median, tick = p99; "
        "RT = round trips, counted by a proxy",
        f'{esc(meta["date"])}, {esc(meta["cpus"])}, {esc(meta["redis_server"].split(" sha=")[0])}, '
        f'one run ({esc(meta["command"])})',
    )
    bottom = height - 50
    ticks = [m * lo * 10**e for e in range(8) for m in (1, 2, 5) if m * lo * 10**e <= hi]
    for t in ticks:
        parts += svg_gridline(x(t), top, bottom, f"{t:g}")
    parts.append(svg_axis_title(left + plot_w / 2, bottom))
    y = top
    for kind in KINDS:
        parts.append(f'<text x="8" y="{y + 16}" font-weight="bold">{esc(KIND_TEXT[kind])}</text>')
        y += head_h
        for r in (r for r in results if r["kind"] == kind):
            colour = "#d9480f" if r["engine"] == SESSILE else "#4c6ef5"
            note = (f'{r["median_us"]:.0f} µs (p99 {r["p99_us"]:.0f}) · {r["round_trips"]:.0f} RT · '
                    f'{r["ratio_to_sessile"]:.2f}× sessile')
            parts += svg_bar(r["engine"], left, y, x(r["median_us"]), x(r["p99_us"]), colour, note,
                             left + plot_w + 10, text_y=17, bar_y=4, bar_h=row_h - 8, mid=13, tick=6)
            y += row_h
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#333"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.exit(main())
