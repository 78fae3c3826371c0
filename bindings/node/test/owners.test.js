'use strict';
// Guards "log out everywhere" (the owner index) as an app meets it: the
// `ownerKey` option, `store.sessionsOf(owner)` and
// `store.destroyAllFor(owner, except)`, through real express-session
// (default ids, passport's `{ passport: { user } }` layout written by a
// tiny login route) over HTTP, on sled, memory and Redis (calls on worker
// threads there; Redis keeps its owner index as a hash per owner). Three devices of one
// user: the third signs the other two out, they come back anonymous, a
// request one of them had in flight cannot save its session back; the
// third and another user stay. Also @fastify/session, integer owners
// beyond 32 bits (msgpackr writes them as floats unless the binding says
// otherwise), a sled database that remembers its owner key, and the
// refusals (no owner key, a bad owner) through the callback.
//
// The Redis cases need SESSILE_TEST_REDIS_URL (`make test-node` from the
// repository root sets it); without it they fail, they do not skip.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const express = require('express');
const session = require('express-session');
const Fastify = require('fastify');
const { Engine, SessileStore } = require('..');
const { storageKey } = require('../lib/store');
const { tempDir, listenExpress, listenFastify, browser, sidOf, promisify } = require('./helpers');

const BACKENDS = {
  sled: () => ({ path: tempDir() }),
  memory: () => ({ memory: true }),
  redis: () => {
    const url = process.env.SESSILE_TEST_REDIS_URL;
    assert.ok(url, 'SESSILE_TEST_REDIS_URL is not set: run `make test-node` from the repository root');
    return { url: `${url}?prefix=owners-${crypto.randomUUID()}:` };
  },
};

function openStore(t, backend, extra = { ownerKey: 'passport.user' }) {
  const store = new SessileStore({ ...BACKENDS[backend](), sweepIntervalMs: 0, ...extra });
  t.after(() => store.close());
  return store;
}

/**
 * An express app whose login writes what passport's does
 * (`req.session.passport = { user }` in a regenerated session), and whose
 * /sign-out-others is the two lines the README shows.
 */
function makeApp(store) {
  const app = express();
  app.use(express.json());
  app.use(session({ store, secret: 'test secret', resave: false, saveUninitialized: false, cookie: { maxAge: 60000 } }));
  app.post('/login', (req, res, next) => req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.passport = { user: req.body.id };
    res.json({ user: req.body.id });
  }));
  app.post('/sign-out-others', (req, res, next) => {
    store.destroyAllFor(req.session.passport.user, req.sessionID, (err, ended) => (err ? next(err) : res.json({ ended })));
  });
  // A "your devices" page: the request's own session marked.
  app.get('/devices', (req, res, next) => {
    store.sessionsOf(req.session.passport.user, (err, list) => (err ? next(err) : res.json(list.map((s) => ({
      current: s.sid === store.storageKey(req.sessionID),
      expires: s.expires,
    })))));
  });
  // Every visit writes the session, so an anonymous one gets a cookie.
  app.get('/visit', (req, res) => {
    req.session.visits = (req.session.visits || 0) + 1;
    res.json({ user: req.session.passport ? req.session.passport.user : null, visits: req.session.visits });
  });
  // A request that holds its session until the test lets it finish.
  app.get('/slow', (req, res) => {
    app.locals.entered();
    app.locals.gate.then(() => {
      req.session.visits = (req.session.visits || 0) + 1;
      res.json({ ok: true });
    });
  });
  app.locals.errors = [];
  app.use((err, req, res, _next) => {
    app.locals.errors.push(err);
    if (!res.headersSent) res.status(500).json({ error: err.message, code: err.code });
  });
  return app;
}

/** The storage key of a browser's session (what sessionsOf lists as `sid`). */
const keyOf = (b) => storageKey(sidOf(b.jar.get('connect.sid')));

/** Waits (bounded) for the error express-session hands to next() after the response went out. */
async function errorAfterResponse(errors) {
  for (let i = 0; i < 400 && !errors.length; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(errors.length, 'an error reached the error handler');
  return errors[0];
}

for (const backend of Object.keys(BACKENDS)) {
  test(`signing out the other devices ends them, and only them, over express-session (${backend})`, async (t) => {
    const store = openStore(t, backend);
    const app = makeApp(store);
    const base = await listenExpress(t, app);
    const [phone, laptop, desk, ann] = [browser(base), browser(base), browser(base), browser(base)];
    for (const b of [phone, laptop, desk]) await b.post('/login', { id: 42 });
    await ann.post('/login', { id: 'ann' });

    const listed = await promisify(store, 'sessionsOf', 42);
    assert.deepEqual(listed.map((s) => s.sid).sort(), [phone, laptop, desk].map(keyOf).sort());
    for (const s of listed) {
      assert.deepEqual(s.session.passport, { user: 42 });
      assert.ok(s.expires instanceof Date && s.expires.getTime() > Date.now(), String(s.expires));
    }
    const expires = listed.map((s) => s.expires.getTime());
    assert.deepEqual(expires, [...expires].sort((a, b) => b - a), 'the one that expires last first');
    // 42 and "42" are one owner.
    assert.deepEqual((await promisify(store, 'sessionsOf', '42')).map((s) => s.sid), listed.map((s) => s.sid));
    assert.deepEqual((await promisify(store, 'sessionsOf', 'ann')).map((s) => s.sid), [keyOf(ann)]);
    assert.deepEqual(await promisify(store, 'sessionsOf', 'nobody'), []);
    const devices = (await laptop.get('/devices')).body;
    assert.equal(devices.length, 3);
    assert.deepEqual(devices.map((d) => d.current), listed.map((s) => s.sid === keyOf(laptop)), 'the laptop sees itself marked');
    assert.equal(store.storageKey(sidOf(laptop.jar.get('connect.sid'))), keyOf(laptop));
    assert.equal(store.storageKey(''), null);

    // The phone has a request in flight, its session loaded, when the desk signs it out.
    const phoneKey = keyOf(phone);
    let entered;
    const inside = new Promise((resolve) => { entered = resolve; });
    let release;
    app.locals.gate = new Promise((resolve) => { release = resolve; });
    app.locals.entered = entered;
    const slow = phone.get('/slow');
    await inside;
    assert.deepEqual((await desk.post('/sign-out-others')).body, { ended: 2 });
    release();
    assert.equal((await slow).status, 200, 'express-session sends the response, then reports the save');
    const err = await errorAfterResponse(app.locals.errors);
    assert.equal(err.code, 'SESSION_DELETED');
    assert.equal(store.engine.load(phoneKey), null, 'the request in flight did not save it back');

    // The phone and the laptop come back with fresh anonymous sessions.
    for (const b of [phone, laptop]) {
      const old = keyOf(b);
      assert.deepEqual((await b.get('/visit')).body, { user: null, visits: 1 });
      assert.notEqual(keyOf(b), old, 'a new session id');
    }
    assert.deepEqual((await desk.get('/visit')).body, { user: 42, visits: 1 });
    assert.deepEqual((await ann.get('/visit')).body, { user: 'ann', visits: 1 });
    assert.deepEqual((await promisify(store, 'sessionsOf', 42)).map((s) => s.sid), [keyOf(desk)]);
    assert.equal(await promisify(store, 'length'), 4, 'desk, ann and the two anonymous sessions');

    // A password reset: every session of the owner, this one too.
    assert.equal(await promisify(store, 'destroyAllFor', 42, null), 1);
    assert.equal(await promisify(store, 'destroyAllFor', 42), 0);
    assert.deepEqual((await desk.get('/visit')).body, { user: null, visits: 1 });
    assert.deepEqual((await ann.get('/visit')).body, { user: 'ann', visits: 2 });
    // One device signed out by the sid a listing gave.
    const [annSession] = await promisify(store, 'sessionsOf', 'ann');
    await promisify(store, 'destroy', annSession.sid);
    assert.deepEqual((await ann.get('/visit')).body, { user: null, visits: 1 });
    assert.equal(app.locals.errors.length, 1, app.locals.errors.map((e) => e.message).join('\n'));
  });

  test(`without an owner key, or with a bad owner, the calls fail through the callback (${backend})`, async (t) => {
    const plain = openStore(t, backend, {});
    for (const [method, args] of [['sessionsOf', [42]], ['destroyAllFor', [42, null]]]) {
      await assert.rejects(promisify(plain, method, ...args),
        (e) => e.code === 'INVALID_ARGUMENT' && /no owner key/.test(e.message) && /ownerKey/.test(e.message), method);
    }
    const store = openStore(t, backend);
    for (const owner of [1.5, null, undefined, { id: 42 }, 2 ** 60]) {
      await assert.rejects(promisify(store, 'sessionsOf', owner),
        (e) => e.code === 'INVALID_ARGUMENT' && /an owner is a string or an integer/.test(e.message), String(owner));
      await assert.rejects(promisify(store, 'destroyAllFor', owner, null), (e) => e.code === 'INVALID_ARGUMENT');
    }
    await assert.rejects(promisify(store, 'destroyAllFor', 42, 'x'.repeat(257)), (e) => e.code === 'INVALID_KEY');
    assert.deepEqual(await promisify(store, 'sessionsOf', ''), [], 'an empty owner owns nothing');
  });
}

test('a bad ownerKey is refused when the store opens', () => {
  assert.throws(() => new SessileStore({ memory: true, ownerKey: 'passport..user' }),
    (e) => e.code === 'INVALID_ARGUMENT' && /passport\.\.user/.test(e.message));
  assert.throws(() => new SessileStore({ memory: true, ownerKey: 42 }),
    (e) => e.code === 'INVALID_ARGUMENT' && /ownerKey must be a string/.test(e.message));
  // A shared Engine keeps the settings it was opened with: an ownerKey
  // beside it would be ignored, so the store refuses it.
  const engine = Engine.open(null, { memory: true });
  try {
    assert.throws(() => new SessileStore({ engine, ownerKey: 'passport.user' }),
      (e) => e.code === 'INVALID_ARGUMENT' && /`ownerKey` cannot be given with `engine`/.test(e.message));
    // An option left undefined is not given.
    new SessileStore({ engine, ownerKey: undefined }).close();
  } finally {
    engine.close();
  }
});

test('integer owners beyond 32 bits are found, and read back as numbers', async (t) => {
  const store = openStore(t, 'memory');
  const base = await listenExpress(t, makeApp(store));
  const b = browser(base);
  const id = 5_000_000_000;
  await b.post('/login', { id });
  const [only, ...rest] = await promisify(store, 'sessionsOf', id);
  assert.deepEqual(rest, []);
  assert.equal(only.sid, keyOf(b));
  assert.equal(only.session.passport.user, id);
  assert.equal((await promisify(store, 'sessionsOf', String(id))).length, 1);
  assert.deepEqual((await b.get('/visit')).body, { user: id, visits: 1 });

  // The engine level writes them the same way, without changing the caller's object.
  const engine = Engine.open(null, { memory: true, ownerKey: 'uid', sweepIntervalMs: 0 });
  t.after(() => engine.close());
  const data = { uid: -(2 ** 40), list: [2 ** 33] };
  const key = engine.create(data);
  assert.deepEqual(data, { uid: -(2 ** 40), list: [2 ** 33] });
  assert.deepEqual(engine.load(key).data, data);
  assert.deepEqual(engine.sessionsOf(-(2 ** 40)).map((s) => s.key), [key]);
  assert.equal(engine.endSessionsOf(String(-(2 ** 40)), key), 0);
  assert.equal(engine.endSessionsOf(-(2 ** 40)), 1);
  assert.equal(engine.load(key), null);
});

test('a sled database keeps its owner key: reopened without the option, it still finds owners', async (t) => {
  const path = tempDir();
  const first = new SessileStore({ path, ownerKey: 'passport.user', sweepIntervalMs: 0 });
  const sid = first.genid();
  await promisify(first, 'set', sid, { cookie: { maxAge: 60000 }, passport: { user: 7 } });
  first.close();
  const again = new SessileStore({ path, sweepIntervalMs: 0 });
  t.after(() => again.close());
  assert.deepEqual((await promisify(again, 'sessionsOf', 7)).map((s) => s.sid), [sid]);
});

test('signing out the other devices through @fastify/session', async (t) => {
  const store = openStore(t, 'memory');
  const app = Fastify();
  app.register(require('@fastify/cookie'));
  app.register(require('@fastify/session'), {
    store, secret: 'a secret with minimum length of 32 characters', cookie: { secure: false, maxAge: 60000 }, saveUninitialized: false,
  });
  app.post('/login', async (req) => {
    await req.session.regenerate();
    req.session.set('passport', { user: 'carol' });
    return { ok: true };
  });
  app.get('/whoami', async (req) => ({ user: (req.session.get('passport') || {}).user || null }));
  app.post('/sign-out-others', (req, reply) => {
    store.destroyAllFor(req.session.get('passport').user, req.session.sessionId, (err, ended) => {
      if (err) reply.send(err);
      else reply.send({ ended });
    });
  });
  const base = await listenFastify(t, app);
  const [phone, desk] = [browser(base), browser(base)];
  for (const b of [phone, desk]) await b.post('/login');
  assert.equal((await promisify(store, 'sessionsOf', 'carol')).length, 2);
  assert.deepEqual((await desk.post('/sign-out-others')).body, { ended: 1 });
  assert.deepEqual((await phone.get('/whoami')).body, { user: null });
  assert.deepEqual((await desk.get('/whoami')).body, { user: 'carol' });
  assert.equal((await promisify(store, 'sessionsOf', 'carol')).length, 1);
});
