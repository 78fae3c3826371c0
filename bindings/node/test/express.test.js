'use strict';
// SessileStore under real express + express-session, over HTTP on 127.0.0.1.

const test = require('node:test');
const assert = require('node:assert/strict');
const express = require('express');
const session = require('express-session');
const { SessileStore, isValidKey } = require('..');
const { storageKey } = require('../lib/store');
const { tempDir, listenExpress, browser, sidOf, promisify } = require('./helpers');

const T0 = 1700000000000;

function makeApp(store, extra = {}) {
  const app = express();
  app.use(express.json());
  app.use(session({ store, genid: store.genid, secret: 'test secret', resave: false, saveUninitialized: false,
    cookie: { maxAge: 60000 }, ...extra }));
  app.post('/login', (req, res, next) => req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = req.body.user;
    res.json({ user: req.session.user });
  }));
  app.get('/count', (req, res) => { req.session.n = (req.session.n || 0) + 1; res.json({ n: req.session.n, user: req.session.user || null }); });
  app.get('/whoami', (req, res) => res.json({ user: req.session.user || null, n: req.session.n || 0 }));
  app.get('/set/:k/:v', (req, res) => setTimeout(() => { req.session[req.params.k] = req.params.v; res.json({ ok: true }); }, 20));
  app.get('/big', (req, res) => { req.session.big = 'x'.repeat(100000); res.json({ ok: true }); });
  app.post('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.json({ ok: true }))));
  app.locals.errors = [];
  app.use((err, req, res, _next) => { app.locals.errors.push(err); if (!res.headersSent) res.status(500).json({ error: err.message, code: err.code }); });
  return app;
}

function memoryStore(t, extra = {}) {
  const store = new SessileStore({ memory: true, manualClock: T0, sweepIntervalMs: 0, ...extra });
  t.after(() => store.close());
  return store;
}

test('login, counter and logout through express-session', async (t) => {
  const store = new SessileStore({ path: tempDir(t) });
  t.after(() => store.close());
  const base = await listenExpress(t, makeApp(store));
  const b = browser(base);
  assert.deepEqual((await b.get('/whoami')).body, { user: null, n: 0 });
  assert.equal(b.jar.size, 0, 'saveUninitialized: false sends no cookie');
  await b.post('/login', { user: 'alice' });
  assert.ok(b.jar.has('connect.sid'));
  for (let i = 1; i <= 3; i++) assert.deepEqual((await b.get('/count')).body, { n: i, user: 'alice' });
  assert.equal(await promisify(store, 'length'), 1);
  const [only] = await promisify(store, 'all');
  assert.equal(only.user, 'alice');
  assert.equal(only.n, 3);
  assert.deepEqual(await promisify(store, 'ids'), [sidOf(b.jar.get('connect.sid'))]);
  await b.post('/logout');
  assert.equal(await promisify(store, 'length'), 0);
  assert.deepEqual((await b.get('/whoami')).body, { user: null, n: 0 });
});

test('regenerate rotates the cookie and drops the old session', async (t) => {
  const store = memoryStore(t);
  const b = browser(await listenExpress(t, makeApp(store)));
  await b.get('/count');
  const first = sidOf(b.jar.get('connect.sid'));
  await b.post('/login', { user: 'bob' });
  const second = sidOf(b.jar.get('connect.sid'));
  assert.notEqual(first, second);
  assert.equal(await promisify(store, 'get', first), null);
  assert.equal((await promisify(store, 'get', second)).user, 'bob');
  assert.deepEqual(await promisify(store, 'ids'), [second]);
});

test('touch with rolling extends the session without rewriting it', async (t) => {
  const store = memoryStore(t);
  const b = browser(await listenExpress(t, makeApp(store, { rolling: true })));
  await b.get('/count');
  const sid = sidOf(b.jar.get('connect.sid'));
  const at0 = store.engine.load(sid).expiresAt;
  store.engine.advanceClock(50000);
  // Unmodified: express-session calls touch (resave: false); rolling re-sends the cookie.
  const res = await b.get('/whoami');
  assert.equal(res.body.n, 1);
  assert.ok(res.headers.getSetCookie().length === 1);
  const after = store.engine.load(sid);
  assert.ok(after.expiresAt >= at0 + 50000 - 1000, 'deadline moved');
  store.engine.advanceClock(50000); // 100 s after creation, 50 s after the touch
  assert.equal((await b.get('/whoami')).body.n, 1, 'still alive thanks to touch');
  store.engine.advanceClock(61000);
  assert.equal((await b.get('/whoami')).body.n, 0, 'expired: a fresh session');
});

test('parallel requests on one session keep every key', async (t) => {
  const store = memoryStore(t);
  const b = browser(await listenExpress(t, makeApp(store)));
  await b.get('/count');
  await Promise.all(['a', 'b', 'c', 'd', 'e'].map((k) => b.get(`/set/${k}/${k.toUpperCase()}`)));
  const sess = await promisify(store, 'get', sidOf(b.jar.get('connect.sid')));
  for (const k of ['a', 'b', 'c', 'd', 'e']) assert.equal(sess[k], k.toUpperCase());
  assert.equal(sess.n, 1);
});

test('a second save of one Session does not undo what another request saved meanwhile', async (t) => {
  const store = memoryStore(t);
  const sid = store.genid();
  await promisify(store, 'set', sid, { cookie: { maxAge: 60000 }, x: 1, keep: true });
  const mine = store.createSession({ sessionID: sid }, await promisify(store, 'get', sid));
  delete mine.x;
  await promisify(store, 'set', sid, mine);
  // Another request sets x again.
  const other = store.createSession({ sessionID: sid }, await promisify(store, 'get', sid));
  other.x = 5;
  await promisify(store, 'set', sid, other);
  // The first request saves again: it had removed x before, not now.
  mine.y = 2;
  await promisify(store, 'set', sid, mine);
  const { cookie, ...data } = await promisify(store, 'get', sid);
  assert.deepEqual(data, { keep: true, x: 5, y: 2 });
});

test('the session a handler sees holds its data and nothing of the store', async (t) => {
  const seen = async (store) => {
    const app = express();
    app.use(session({ store, secret: 'test secret', resave: false, saveUninitialized: false }));
    app.get('/set', (req, res) => { req.session.n = 1; res.json({}); });
    app.get('/look', (req, res) => {
      const forIn = [];
      for (const k in req.session) if (Object.hasOwn(req.session, k)) forIn.push(k);
      // A copy ({ ...session }, Object.assign) takes enumerable symbols too.
      const copied = Object.getOwnPropertySymbols({ ...req.session }).length;
      res.json({ keys: Object.keys(req.session), forIn, json: JSON.parse(JSON.stringify(req.session)), copied });
    });
    const b = browser(await listenExpress(t, app));
    await b.get('/set');
    return (await b.get('/look')).body;
  };
  const sessile = await seen(memoryStore(t));
  assert.deepEqual(sessile.keys, ['cookie', 'n']);
  assert.deepEqual(sessile, await seen(new session.MemoryStore()));
});

test('bad input gives clear errors; forged cookies give a fresh session', async (t) => {
  const store = memoryStore(t);
  const app = makeApp(store);
  const base = await listenExpress(t, app);
  const b = browser(base);
  await b.get('/count');
  // Over the value limit (64 KiB by default): express-session hands the
  // store's error to the error handler, and nothing is stored.
  await b.get('/big');
  // The error handler runs just after the response went out.
  for (let i = 0; i < 100 && !app.locals.errors.length; i++) await new Promise((r) => setTimeout(r, 10));
  const [err] = app.locals.errors;
  assert.equal(err.code, 'TOO_LARGE');
  assert.match(err.message, /value/);
  assert.equal((await promisify(store, 'get', sidOf(b.jar.get('connect.sid')))).big, undefined);
  // express-session hashes with JSON.stringify before the store sees a
  // BigInt; the store refuses it with its own clear error too.
  await assert.rejects(promisify(store, 'set', store.genid(), { cookie: {}, n: 2n ** 70n }),
    (e) => e.code === 'INVALID_VALUE' && /BigInt/.test(e.message));

  const forged = browser(base);
  forged.jar.set('connect.sid', 's%3A..%2F..%2Fetc.bad');
  assert.deepEqual((await forged.get('/whoami')).body, { user: null, n: 0 });
  await assert.rejects(promisify(store, 'set', 'x'.repeat(257), { cookie: {} }),
    (e) => e.code === 'INVALID_KEY' && /at most 256 characters/.test(e.message));
  assert.equal(await promisify(store, 'get', '../../etc/passwd'), null);
  await promisify(store, 'destroy', 'x'.repeat(10000));
});

test('a cookie maxAge over 400 days keeps the record 400 days, and saves', async (t) => {
  const { MAX_AGE_S } = require('..');
  const store = memoryStore(t);
  const tenYears = 10 * 365 * 86400 * 1000;
  const app = makeApp(store, { cookie: { maxAge: tenYears } });
  const b = browser(await listenExpress(t, app));
  assert.deepEqual((await b.get('/count')).body, { n: 1, user: null });
  assert.deepEqual(app.locals.errors, []);
  const rec = store.engine.load(sidOf(b.jar.get('connect.sid')));
  assert.equal(rec.expiresAt, T0 + MAX_AGE_S * 1000);
});

test('the cookie deadline is kept to the millisecond: no session outlives its cookie', async (t) => {
  const store = memoryStore(t);
  const sid = store.genid();
  // express-session hands the store the cookie with its absolute expiry.
  await promisify(store, 'set', sid, { cookie: { expires: new Date(Date.now() + 1500) }, n: 1 });
  const { expiresAt } = store.engine.load(sid);
  // Not rounded up to whole seconds (T0 + 2000 before).
  assert.ok(expiresAt > T0 + 1000 && expiresAt <= T0 + 1500, `${expiresAt - T0} ms`);
  store.engine.advanceClock(1500);
  assert.equal(await promisify(store, 'get', sid), null, 'expired with its cookie');
  // touch keeps the same precision.
  await promisify(store, 'set', sid, { cookie: { maxAge: 900 }, n: 2 });
  await promisify(store, 'touch', sid, { cookie: { maxAge: 700 } });
  assert.equal(store.engine.load(sid).expiresAt, store.engine.now() + 700);
});

test('on the system clock too, a session ends with its cookie, to the millisecond', async (t) => {
  const store = new SessileStore({ memory: true, sweepIntervalMs: 0 });
  t.after(() => store.close());
  const sid = store.genid();
  const expires = Date.now() + 1500;
  await promisify(store, 'set', sid, { cookie: { expires: new Date(expires) }, n: 1 });
  const { expiresAt } = store.engine.load(sid);
  // Counted from the time set() ran: a millisecond or two later at most.
  assert.ok(expiresAt >= expires && expiresAt <= expires + 50, `${expiresAt - expires} ms`);
});

test('the three-line setup works with the ids express-session makes (no genid)', async (t) => {
  const store = memoryStore(t);
  const b = browser(await listenExpress(t, makeApp(store, { genid: undefined })));
  assert.deepEqual((await b.get('/count')).body, { n: 1, user: null });
  assert.deepEqual((await b.get('/count')).body, { n: 2, user: null });
  const sid = sidOf(b.jar.get('connect.sid'));
  assert.ok(!isValidKey(sid), `express-session's own id: ${sid}`);
  // Stored under the id's mapped key, the same every time.
  assert.equal(storageKey(sid), storageKey(sid));
  assert.equal(store.engine.load(storageKey(sid)).data.n, 2);
  assert.equal((await promisify(store, 'get', sid)).n, 2);
  // Login regenerates (a new id), logout destroys: nothing left behind.
  await b.post('/login', { user: 'eve' });
  assert.equal(await promisify(store, 'get', sid), null);
  assert.equal((await b.get('/whoami')).body.user, 'eve');
  await b.post('/logout');
  assert.equal(await promisify(store, 'length'), 0);
  // Two different foreign ids never share a key; loading never creates.
  assert.notEqual(storageKey('a'), storageKey('b'));
  assert.equal(await promisify(store, 'get', 'never-issued'), null);
  assert.equal(await promisify(store, 'length'), 0);
});
