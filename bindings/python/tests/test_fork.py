"""A prefork worker (gunicorn --preload, uWSGI, a multiprocessing pool
started with fork) opens its own engine after the fork and uses it: durable
saves, flushes and close return, whatever the parent did with sessile
before forking. Before the fix the child's first durable save never
returned (sled's I/O pool has no threads in a child).

Each worker reports through its exit status and is killed if it has not
finished within WORKER_LIMIT seconds: a bound on a hang, not a timing check.
"""

import os
import signal
import threading
import time

import sessile

WORKER_LIMIT = 60


def _worker(tmp_path, name):
    """The child: its own engine on its own directory. Exit status 0 = fine."""
    try:
        with sessile.open(str(tmp_path / name), reaper_interval_ms=0) as engine:
            key = engine.create({"worker": os.getpid()}, durable=True)
            other = engine.create({"n": 2})
            engine.flush()
            ok = engine.load(key).data == {"worker": os.getpid()} and engine.exists(other)
        os._exit(0 if ok else 2)
    except BaseException:  # noqa: BLE001 - any failure is the exit status
        os._exit(3)


def fork_a_worker(tmp_path, name):
    pid = os.fork()
    if pid == 0:
        _worker(tmp_path, name)
    deadline = time.monotonic() + WORKER_LIMIT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "hung"
        time.sleep(0.01)


def test_a_worker_forked_after_a_durable_write_opens_its_own_engine(tmp_path):
    with sessile.open(str(tmp_path / "parent"), reaper_interval_ms=0) as engine:
        key = engine.create({"parent": 1}, durable=True)
        assert fork_a_worker(tmp_path, "child") == 0
        assert engine.load(key).data == {"parent": 1}


def test_a_worker_forked_after_the_parent_closed_its_engine_opens_its_own(tmp_path):
    with sessile.open(str(tmp_path / "parent"), reaper_interval_ms=0) as engine:
        engine.create({"parent": 1}, durable=True)
    assert fork_a_worker(tmp_path, "child") == 0


def test_workers_forked_while_the_parent_writes_open_their_own_engines(tmp_path):
    stop = threading.Event()
    with sessile.open(str(tmp_path / "parent"), reaper_interval_ms=0) as engine:

        def keep_writing():
            n = 0
            while not stop.is_set():
                engine.create({"n": n}, durable=n % 2 == 0)
                n += 1

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            results = [fork_a_worker(tmp_path, f"child{i}") for i in range(4)]
        finally:
            stop.set()
            writer.join()
    assert results == [0, 0, 0, 0]
