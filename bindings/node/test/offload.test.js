'use strict';
// Guards: a SessileStore on Redis never blocks the event loop. Its calls
// run on worker threads (lib/offload.js) and answer through the callback,
// as connect-redis does; a server that stops answering costs the waiting
// request its timeout, never the whole process; each failure carries its
// own code and message (sessile keeps the last error per OS thread); and
// closing the store with a call in flight neither crashes nor hangs.
//
// Each test starts a redis-server of its own and stops it with SIGSTOP (the
// kernel still accepts connections, nothing answers), so the shared server
// of tests/with-redis-server is not disturbed. No assertion depends on how
// long anything takes: a call cannot finish while the server is stopped, so
// whatever the main thread does meanwhile proves the loop was free.

const test = require('node:test');
const assert = require('node:assert/strict');
const express = require('express');
const session = require('express-session');
const { SessileStore } = require('..');
const { ownRedis, listenExpress, browser, promisify } = require('./helpers');

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Calls store[method] and records whether it threw and when it answered. */
function call(store, method, ...args) {
  const state = { answered: false, threw: null };
  state.result = new Promise((resolve) => {
    try {
      store[method](...args, (err, value) => { state.answered = true; resolve({ err, value }); });
    } catch (e) {
      state.threw = e;
      resolve({ err: e });
    }
  });
  return state;
}

test('the event loop keeps running while a Redis call waits on a stopped server', async (t) => {
  const redis = await ownRedis(t);
  // A timeout far longer than the test needs: if the call blocked the
  // loop, nothing could resume the server and it would fail after 10 s.
  const store = new SessileStore({ url: `${redis.url}?timeout_ms=10000` });
  t.after(() => store.close());
  await promisify(store, 'set', 'visitor', { cookie: {}, n: 1 });

  redis.process.kill('SIGSTOP');
  const pending = call(store, 'get', 'visitor');
  assert.equal(pending.threw, null);
  // A hundred turns of the loop and a timer, all while the call waits.
  for (let i = 0; i < 100; i++) {
    await turn();
    assert.equal(pending.answered, false, 'nothing can answer while the server is stopped');
  }
  await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(pending.answered, false);
  redis.process.kill('SIGCONT');
  const { err, value } = await pending.result;
  assert.equal(err, null);
  assert.equal(value.n, 1);
});

test('an express app answers other requests while one waits on a stopped Redis', async (t) => {
  const redis = await ownRedis(t);
  const store = new SessileStore({ url: `${redis.url}?timeout_ms=10000` });
  t.after(() => store.close());
  const app = express();
  app.get('/health', (req, res) => res.json({ ok: true }));
  app.use(session({ store, secret: 'test secret', resave: false, saveUninitialized: false }));
  app.get('/count', (req, res) => { req.session.n = (req.session.n || 0) + 1; res.json({ n: req.session.n }); });
  const base = await listenExpress(t, app);
  const b = browser(base);
  assert.deepEqual((await b.get('/count')).body, { n: 1 });

  redis.process.kill('SIGSTOP');
  let counted = false;
  const waiting = b.get('/count').then((res) => { counted = true; return res; });
  for (let i = 0; i < 5; i++) assert.deepEqual((await browser(base).get('/health')).body, { ok: true });
  assert.equal(counted, false);
  redis.process.kill('SIGCONT');
  assert.deepEqual((await waiting).body, { n: 2 });
});

test('a Redis call that times out fails through its callback with UNAVAILABLE', async (t) => {
  const redis = await ownRedis(t);
  const store = new SessileStore({ url: `${redis.url}?timeout_ms=200` });
  t.after(() => store.close());
  await promisify(store, 'set', 'visitor', { cookie: {}, n: 1 });

  redis.process.kill('SIGSTOP');
  let turns = 0;
  const pending = call(store, 'get', 'visitor');
  assert.equal(pending.threw, null, 'no throw: the error goes to the callback');
  while (!pending.answered) {
    await turn();
    turns++;
  }
  const { err } = await pending.result;
  assert.ok(turns > 1, 'the loop ran while the call waited');
  assert.equal(err.code, 'UNAVAILABLE');
  assert.match(err.message, /^sessile: load: session store redis:\/\/.* is unavailable/);
  redis.process.kill('SIGCONT');
  assert.equal((await promisify(store, 'get', 'visitor')).n, 1, 'the store recovers with the server');
});

test('calls failing at once on several threads each report their own error', async (t) => {
  const redis = await ownRedis(t);
  const store = new SessileStore({ url: `${redis.url}?timeout_ms=200`, threads: 4 });
  t.after(() => store.close());
  // Too large (refused before any I/O), good, and missing, interleaved.
  const calls = [];
  for (let i = 0; i < 24; i++) {
    if (i % 3 === 0) calls.push(promisify(store, 'set', `big${i}`, { cookie: {}, v: 'x'.repeat(70000 + i) }).then(() => 'saved', (e) => e));
    else if (i % 3 === 1) calls.push(promisify(store, 'set', `ok${i}`, { cookie: {}, i }).then(() => 'saved', (e) => e));
    else calls.push(promisify(store, 'get', `nobody${i}`).then((v) => v, (e) => e));
  }
  const results = await Promise.all(calls);
  results.forEach((r, i) => {
    if (i % 3 === 0) {
      assert.equal(r.code, 'TOO_LARGE', `call ${i}`);
      assert.match(r.message, new RegExp(`^sessile: save: value is ${70000 + i + 5}, over the limit`), `call ${i}: its own message`);
    } else if (i % 3 === 1) assert.equal(r, 'saved', `call ${i}`);
    else assert.equal(r, null, `call ${i}`);
  });

  // A timeout and a refusal in flight together keep their own messages.
  redis.process.kill('SIGSTOP');
  const [late, big] = await Promise.all([
    promisify(store, 'get', 'ok1').catch((e) => e),
    promisify(store, 'set', 'big', { cookie: {}, v: 'x'.repeat(70000) }).catch((e) => e),
  ]);
  redis.process.kill('SIGCONT');
  assert.equal(late.code, 'UNAVAILABLE');
  assert.match(late.message, /^sessile: load: .* unavailable/);
  assert.equal(big.code, 'TOO_LARGE');
  assert.match(big.message, /^sessile: save: value is 70005, over the limit/);
});

test('closing the store while a Redis call waits: the call finishes, later calls get CLOSED', async (t) => {
  const redis = await ownRedis(t);
  const store = new SessileStore({ url: `${redis.url}?timeout_ms=10000` });
  await promisify(store, 'set', 'visitor', { cookie: {}, n: 1 });
  redis.process.kill('SIGSTOP');
  const pending = call(store, 'get', 'visitor');
  await turn();
  store.close(); // returns at once; the handle is freed when the call returns
  redis.process.kill('SIGCONT');
  const { err, value } = await pending.result;
  // A call the worker had begun completes on the engine it started with;
  // one it had not yet begun gets CLOSED. Either way it answers, and the
  // handle is freed only after it returned.
  if (err) assert.equal(err.code, 'CLOSED');
  else assert.equal(value.n, 1);
  const after = call(store, 'get', 'visitor');
  assert.equal(after.threw, null);
  assert.equal((await after.result).err.code, 'CLOSED');
});
