'use strict';
// Measures SessileStore calls through express-session's store API (get,
// then set of the same session, as one request does) on the main thread
// (threads: 0) and on worker threads, for sled and for Redis. Not a test:
// it prints figures (README, "Redis off the event loop").
//
//   node bench/store-calls.js [N]          sled only
//   SESSILE_TEST_REDIS_URL=redis://127.0.0.1:6379/0 node bench/store-calls.js
//
// Two shapes: one request at a time (latency), and 64 at once (throughput
// when requests overlap, as on a busy server).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { SessileStore } = require('..');

const N = Number(process.argv[2] || 20000);
const p = (store, m, ...a) => new Promise((res, rej) => store[m](...a, (e, v) => (e ? rej(e) : res(v))));

async function request(store, sid, i) {
  const sess = (await p(store, 'get', sid)) || { cookie: { originalMaxAge: 86400000, expires: new Date(Date.now() + 86400000).toISOString(), httpOnly: true, path: '/' } };
  sess.n = i;
  await p(store, 'set', sid, sess);
}

async function measure(label, store) {
  const sids = Array.from({ length: 64 }, () => crypto.randomBytes(24).toString('base64url'));
  for (const sid of sids) await request(store, sid, 0);
  let t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await request(store, sids[i % 64], i);
  const serial = Number(process.hrtime.bigint() - t) / 1e3 / N;
  t = process.hrtime.bigint();
  for (let i = 0; i < N; i += 64) await Promise.all(sids.map((sid, j) => request(store, sid, i + j)));
  const parallel = (Number(process.hrtime.bigint() - t) / 1e9);
  const rounded = Math.ceil(N / 64) * 64;
  console.log(`${label.padEnd(28)} one at a time: ${serial.toFixed(1).padStart(6)} µs per get+set   64 at once: ${Math.round(rounded / parallel).toString().padStart(6)} get+set/s`);
}

(async () => {
  console.log(`node ${process.version}, ${os.cpus().length} CPUs, N=${N}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sessile-bench-'));
  try {
    for (const threads of [0, 1, 4]) {
      const store = new SessileStore({ path: path.join(dir, `t${threads}`), threads, sweepIntervalMs: 0 });
      await measure(`sled, threads ${threads}`, store);
      store.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const url = process.env.SESSILE_TEST_REDIS_URL;
  if (!url) return console.log('redis: set SESSILE_TEST_REDIS_URL to measure it');
  for (const threads of [0, 1, 2, 4, 8]) {
    const store = new SessileStore({ url: `${url}?prefix=bench-${crypto.randomUUID()}:`, threads });
    await measure(`redis, threads ${threads}`, store);
    await p(store, 'clear');
    store.close();
  }
})();
