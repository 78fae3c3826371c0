'use strict';
// The same store under fastify + @fastify/session (+ @fastify/cookie).

const test = require('node:test');
const assert = require('node:assert/strict');
const Fastify = require('fastify');
const { SessileStore } = require('..');
const { listenFastify, browser, promisify } = require('./helpers');

for (const [what, ids] of [['its own ids', {}], ['sessile ids (idGenerator: store.genid)', null]]) {
  test(`login, counter and logout through @fastify/session, with ${what}`, async (t) => {
    const store = new SessileStore({ memory: true, manualClock: 1700000000000, sweepIntervalMs: 0 });
    t.after(() => store.close());
    const app = Fastify();
    app.register(require('@fastify/cookie'));
    app.register(require('@fastify/session'), {
      store, ...(ids || { idGenerator: store.genid }), secret: 'a secret with minimum length of 32 characters',
      cookie: { secure: false, maxAge: 60000 }, saveUninitialized: false,
    });
    app.post('/login', async (req) => { await req.session.regenerate(); req.session.set('user', 'carol'); return { ok: true }; });
    app.get('/count', async (req) => { const n = (req.session.get('n') || 0) + 1; req.session.set('n', n); return { n, user: req.session.get('user') || null }; });
    app.post('/logout', async (req) => { await req.session.destroy(); return { ok: true }; });
    const b = browser(await listenFastify(t, app));
    await b.post('/login');
    assert.ok(b.jar.has('sessionId'));
    for (let i = 1; i <= 3; i++) assert.deepEqual((await b.get('/count')).body, { n: i, user: 'carol' });
    assert.equal(await promisify(store, 'length'), 1);
    const [sess] = await promisify(store, 'all');
    assert.equal(sess.user, 'carol');
    await b.post('/logout');
    assert.equal(await promisify(store, 'length'), 0);
    assert.deepEqual((await b.get('/count')).body, { n: 1, user: null });
  });
}

test('parallel requests on one session keep every key through @fastify/session', async (t) => {
  const store = new SessileStore({ memory: true, manualClock: 1700000000000, sweepIntervalMs: 0 });
  t.after(() => store.close());
  const app = Fastify();
  app.register(require('@fastify/cookie'));
  app.register(require('@fastify/session'), {
    store, secret: 'a secret with minimum length of 32 characters', cookie: { secure: false, maxAge: 60000 }, saveUninitialized: false,
  });
  app.get('/count', async (req) => { req.session.set('n', (req.session.get('n') || 0) + 1); return { ok: true }; });
  app.get('/set/:k', async (req) => {
    await new Promise((r) => setTimeout(r, 20));
    req.session.set(req.params.k, req.params.k.toUpperCase());
    return { ok: true };
  });
  const b = browser(await listenFastify(t, app));
  await b.get('/count');
  await Promise.all(['a', 'b', 'c', 'd', 'e'].map((k) => b.get(`/set/${k}`)));
  const [sess] = await promisify(store, 'all');
  for (const k of ['a', 'b', 'c', 'd', 'e']) assert.equal(sess[k], k.toUpperCase());
  assert.equal(sess.n, 1);
});

test('a change saved elsewhere while a request runs is kept through @fastify/session', async (t) => {
  const store = new SessileStore({ memory: true, manualClock: 1700000000000, sweepIntervalMs: 0 });
  t.after(() => store.close());
  const app = Fastify();
  app.register(require('@fastify/cookie'));
  app.register(require('@fastify/session'), {
    store, idGenerator: store.genid, secret: 'a secret with minimum length of 32 characters',
    cookie: { secure: false, maxAge: 60000 }, saveUninitialized: false,
  });
  app.get('/count', async (req) => { req.session.set('n', (req.session.get('n') || 0) + 1); return { ok: true }; });
  app.get('/slow', async (req) => {
    await new Promise((r) => setTimeout(r, 50));
    req.session.set('a', 'A');
    return { ok: true };
  });
  const b = browser(await listenFastify(t, app));
  await b.get('/count');
  const [{ id }] = await promisify(store, 'all');
  const slow = b.get('/slow');
  await new Promise((r) => setTimeout(r, 20));
  // Another process on the same database, say.
  store.engine.saveDelta(id, { set: { b: 'B' } });
  await slow;
  const [sess] = await promisify(store, 'all');
  assert.deepEqual([sess.n, sess.a, sess.b], [1, 'A', 'B']);
});
