'use strict';
// Runs SessileStore's engine calls off the event loop, for stores on
// another host (Redis): a call there waits a network round trip, and up to
// the store's timeout (2 s by default) when the server is slow or gone.
// A small pool of worker threads (lib/offload-worker.js) shares the main
// thread's engine handle (an engine is thread-safe, include/sessile.h) and
// answers through the callback, as connect-redis does. Embedded stores
// (sled, memory) answer in microseconds and stay on the main thread, where
// a call costs less than the message to a worker would (README, "Redis
// off the event loop", has the figures).

const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { SessileError } = require('./native');
const { OPS } = require('./store-ops');

/** Runs an operation now, on this thread; answers on the next turn of the loop. */
class InlineRunner {
  constructor(engine) {
    this.engine = engine;
  }

  run(op, args, done) {
    let value, error = null;
    try {
      value = OPS[op](this.engine, ...args);
    } catch (e) {
      error = e;
    }
    setImmediate(done, error, value);
  }

  close() {}
}

function revive(error) {
  if (error.name === 'SessileError') return new SessileError(error.code, error.message, error.result);
  const e = new Error(error.message);
  if (error.code !== undefined) e.code = error.code;
  return e;
}

/**
 * A pool of `size` worker threads, started on first use. Calls go to an idle
 * worker, else wait in order. An idle pool does not keep the process alive;
 * a call in flight does, as a pending socket would.
 */
class ThreadRunner {
  constructor(engine, size) {
    this.engine = engine;
    this.size = size;
    this.workers = [];
    this.idle = [];
    this.queue = [];
    this.nextId = 1;
    this.closed = false;
  }

  run(op, args, done) {
    if (this.closed) {
      setImmediate(done, new SessileError('CLOSED', 'sessile: the store is closed'));
      return;
    }
    this.queue.push({ op, args, done });
    this._pump();
  }

  _pump() {
    while (this.queue.length) {
      let w = this.idle.pop();
      if (!w && this.workers.length < this.size) w = this._spawn();
      if (!w) return;
      const job = this.queue.shift();
      let handle;
      try {
        handle = this.engine._lend();
      } catch (e) {
        this.idle.push(w);
        setImmediate(job.done, e);
        continue;
      }
      job.id = this.nextId++;
      job.handle = handle;
      w.job = job;
      w.ref();
      w.postMessage({ id: job.id, op: job.op, args: job.args });
    }
  }

  _spawn() {
    const w = new Worker(path.join(__dirname, 'offload-worker.js'), {
      workerData: { library: this.engine.library, handle: this.engine._h },
    });
    w.job = null;
    w.on('message', (reply) => {
      const job = w.job;
      if (!job || job.id !== reply.id) return;
      w.job = null;
      this.engine._return(job.handle);
      this._release(w);
      if (reply.error) job.done(revive(reply.error));
      else job.done(null, reply.value);
    });
    const lost = (err) => {
      this.workers = this.workers.filter((x) => x !== w);
      this.idle = this.idle.filter((x) => x !== w);
      const job = w.job;
      w.job = null;
      if (job) {
        // The thread is gone, so it no longer uses the handle.
        this.engine._return(job.handle);
        job.done(err || new SessileError('CLOSED', 'sessile: the store\'s worker thread stopped'));
      }
      if (!this.closed) this._pump();
    };
    w.on('error', lost);
    w.on('exit', () => lost(null));
    this.workers.push(w);
    return w;
  }

  _release(w) {
    if (this.closed) {
      w.terminate();
      return;
    }
    w.unref();
    this.idle.push(w);
    this._pump();
  }

  /** Calls queued but not started fail with CLOSED; calls in flight finish first. */
  close() {
    this.closed = true;
    for (const job of this.queue.splice(0)) setImmediate(job.done, new SessileError('CLOSED', 'sessile: the store is closed'));
    for (const w of this.idle.splice(0)) w.terminate();
  }
}

module.exports = { InlineRunner, ThreadRunner };
