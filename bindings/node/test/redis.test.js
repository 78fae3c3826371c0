'use strict';
// The Redis store from Node: `new SessileStore({ url })` behind real
// express-session, shared with a second store (as with another cluster
// worker), and an unreachable server as code 'UNAVAILABLE' at once.
// `make test-node` runs the suite under tests/with-redis-server, which sets
// SESSILE_TEST_REDIS_URL; without it this test fails, it does not skip.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const express = require('express');
const session = require('express-session');
const { Engine, SessileStore } = require('..');
const { listenExpress, browser, sidOf, promisify } = require('./helpers');

test('a redis url is shared by stores and reports an unreachable server', async (t) => {
  const base = process.env.SESSILE_TEST_REDIS_URL;
  assert.ok(base, 'SESSILE_TEST_REDIS_URL is not set: run `make test-node` from the repository root');
  // A prefix of its own: tests never see each other's sessions.
  const url = `${base}?prefix=node-${crypto.randomUUID()}:`;
  const store = new SessileStore({ url });
  const other = new SessileStore({ url });
  t.after(() => { store.close(); other.close(); });

  const app = express();
  app.use(session({ store, genid: store.genid, secret: 'test secret', resave: false, saveUninitialized: false }));
  app.get('/count', (req, res) => { req.session.n = (req.session.n || 0) + 1; res.json({ n: req.session.n }); });
  const b = browser(await listenExpress(t, app));
  for (let i = 1; i <= 3; i++) assert.deepEqual((await b.get('/count')).body, { n: i });
  const seen = await promisify(other, 'get', sidOf(b.jar.get('connect.sid')));
  assert.equal(seen.n, 3);

  assert.throws(() => Engine.open('redis://127.0.0.1:1/0'), (e) => e.code === 'UNAVAILABLE' && /unavailable/.test(e.message));
});
