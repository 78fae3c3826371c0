'use strict';
// Run by dist-check.sh inside a fresh project where the sessile tarball
// was installed: an express app on the installed package, driven over real
// HTTP like a browser. It fails unless the library came from the package's
// own prebuilds/ and a visitor's session behaves: login, a counter that
// increments, a restart that keeps it (sled on disk), a logout that ends
// it, and a new visit that starts at 1.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const express = require('express');
const session = require('express-session');
const { SessileStore } = require('sessile');

const installed = path.dirname(require.resolve('sessile/package.json'));
const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sessile-dist-check-'));

function start() {
  const store = new SessileStore({ path: path.join(dbDir, 'sessions.db') });
  const app = express();
  app.use(session({ store, secret: 'dist-check', resave: false, saveUninitialized: false }));
  app.get('/login', (req, res, next) => req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = String(req.query.user);
    res.json({ user: req.session.user });
  }));
  app.get('/counter', (req, res) => {
    req.session.n = (req.session.n || 0) + 1;
    res.json({ user: req.session.user || null, n: req.session.n });
  });
  app.get('/logout', (req, res, next) => req.session.destroy((err) => {
    if (err) return next(err);
    res.clearCookie('connect.sid').json({ ok: true });
  }));
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve({ store, server, base: `http://127.0.0.1:${server.address().port}` }));
  });
}

async function stop({ store, server }) {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  store.close();
}

/** fetch with one cookie, as a browser keeps it. */
function visitor() {
  const v = {
    cookie: null,
    async get(base, pathname) {
      const res = await fetch(base + pathname, { headers: v.cookie ? { cookie: v.cookie } : {} });
      for (const line of res.headers.getSetCookie()) {
        const pair = line.split(';')[0];
        v.cookie = /^connect\.sid=$/.test(pair) || /expires=Thu, 01 Jan 1970/i.test(line) ? null : pair;
      }
      assert.equal(res.status, 200, `${pathname} answered ${res.status}`);
      return res.json();
    },
  };
  return v;
}

const length = (store) => new Promise((resolve, reject) => store.length((e, n) => (e ? reject(e) : resolve(n))));

(async () => {
  let running = await start();
  const lib = running.store.engine.library;
  assert.ok(lib.startsWith(path.join(installed, 'prebuilds') + path.sep),
    `the library was loaded from ${lib}, not from the installed package's prebuilds/ (${installed})`);
  console.log(`dist-check: library ${path.relative(process.cwd(), lib)}`);

  const alice = visitor();
  assert.deepEqual(await alice.get(running.base, '/login?user=alice'), { user: 'alice' });
  assert.ok(alice.cookie, 'login set a session cookie');
  assert.deepEqual(await alice.get(running.base, '/counter'), { user: 'alice', n: 1 });
  assert.deepEqual(await alice.get(running.base, '/counter'), { user: 'alice', n: 2 });

  // A restart on the same directory: the session is on disk.
  await stop(running);
  running = await start();
  assert.deepEqual(await alice.get(running.base, '/counter'), { user: 'alice', n: 3 });

  const kept = alice.cookie;
  assert.deepEqual(await alice.get(running.base, '/logout'), { ok: true });
  assert.equal(alice.cookie, null, 'logout cleared the cookie');
  assert.equal(await length(running.store), 0, 'logout deleted the stored session');
  // The old cookie no longer opens anything.
  alice.cookie = kept;
  assert.deepEqual(await alice.get(running.base, '/counter'), { user: null, n: 1 });

  const bob = visitor();
  assert.deepEqual(await bob.get(running.base, '/counter'), { user: null, n: 1 });
  assert.deepEqual(await bob.get(running.base, '/counter'), { user: null, n: 2 });

  await stop(running);
  fs.rmSync(dbDir, { recursive: true, force: true });
  console.log('dist-check: login, counter, restart, logout and a new visit behave over HTTP');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
