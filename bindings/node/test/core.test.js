'use strict';
// The core API over the C ABI: loading the library, the store level, the
// session level and the request helpers.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Engine, SessileError, generateKey, isValidKey, version, EXPIRY, ABI_VERSION } = require('..');
const { tempDir } = require('./helpers');

const T0 = 1700000000000;
const memory = (extra = {}) => Engine.open(null, { memory: true, manualClock: T0, sweepIntervalMs: 0, ...extra });

test('the library is found, and its ABI version checked', () => {
  assert.match(version(), /^\d+\.\d+\.\d+/);
  assert.equal(ABI_VERSION, 1);
  assert.throws(() => Engine.open(null, { memory: true, library: '/nonexistent/libsessile.so' }),
    (e) => e instanceof SessileError && e.code === 'LIBRARY_NOT_FOUND' && /cargo build --release --lib/.test(e.message));
  const libc = ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/aarch64-linux-gnu/libc.so.6', '/usr/lib/libc.so.6']
    .find((p) => require('node:fs').existsSync(p));
  if (libc) {
    assert.throws(() => Engine.open(null, { memory: true, library: libc }),
      (e) => e.code === 'ABI_MISMATCH' && /not a sessile library/.test(e.message));
  }
});

test('store level: create, load, save, delta, touch, delete', (t) => {
  const e = memory();
  t.after(() => e.close());
  const key = e.create({ user: 'alice', n: 1, when: new Date(0), bytes: Buffer.from([1, 2]) }, { expiry: 60 });
  assert.ok(isValidKey(key));
  const got = e.load(key);
  assert.deepEqual(got.data.user, 'alice');
  assert.deepEqual(got.data.when, new Date(0));
  assert.deepEqual(Buffer.from(got.data.bytes), Buffer.from([1, 2]));
  assert.deepEqual(got.expiry, { kind: EXPIRY.SECONDS, value: 60 });
  assert.equal(got.expiresAt, T0 + 60000);

  e.saveDelta(key, { set: { n: 2 }, remove: ['bytes'] });
  assert.deepEqual(Object.keys(e.load(key).data).sort(), ['n', 'user', 'when']);
  e.save(key, { only: true });
  assert.deepEqual(e.load(key).data, { only: true });

  e.advanceClock(30000);
  assert.equal(e.touch(key), true);
  assert.equal(e.load(key).expiresAt, T0 + 90000);
  assert.deepEqual(e.load(key).data, { only: true });

  e.delete(key);
  assert.equal(e.load(key), null);
  assert.equal(e.exists(key), false);
  assert.equal(e.touch(key), false);
  assert.throws(() => e.save(key, { a: 1 }), { code: 'SESSION_DELETED' });
  e.save(key, { a: 1 }, { upsert: true });
  assert.deepEqual(e.load(key).data, { a: 1 });
});

test('scan, count and deleteAll see live sessions only', (t) => {
  const e = memory();
  t.after(() => e.close());
  const keys = [];
  for (let i = 0; i < 10; i++) keys.push(e.create({ i }, { expiry: i < 3 ? 1 : 3600 }));
  e.advanceClock(1000);
  assert.equal(e.count(), 7);
  const page = e.scan({ limit: 4 });
  assert.equal(page.sessions.length, 4);
  assert.ok(page.next);
  const all = [...e.sessions({ pageSize: 3 })];
  assert.deepEqual(all.map((s) => s.key), keys.slice(3).sort());
  assert.ok(all.every((s) => s.data.i >= 3 && s.expiresAt === T0 + 3600000));
  assert.equal(e.deleteAll(), 10);
  assert.equal(e.count(), 0);
});

test('session level and request helpers', (t) => {
  const e = memory();
  t.after(() => e.close());
  const s = e.beginRequest(null);
  assert.equal(s.key, null);
  s.set('user_id', 42);
  s.set('cart', { items: [1, 2] });
  assert.equal(s.has('cart'), true);
  assert.equal(s.size, 2);
  const { setCookie, varyCookie } = s.endRequest(200);
  assert.match(setCookie, /^sessionid=[a-z0-9]{32};/);
  assert.equal(varyCookie, true);
  s.close();

  const s2 = e.beginRequest(setCookie.split(';')[0]);
  assert.equal(s2.get('user_id'), 42);
  assert.deepEqual(s2.toObject(), { cart: { items: [1, 2] }, user_id: 42 });
  const before = s2.key;
  s2.cycleKey();
  s2.save();
  assert.notEqual(s2.key, before);
  assert.equal(e.load(before), null);
  s2.setExpiry(300);
  assert.equal(s2.expiryAge, 300);
  s2.flush();
  assert.equal(s2.size, 0);
  s2.close();
  s2.close();
  assert.throws(() => s2.get('x'), { code: 'CLOSED' });
});

test('a session logged out in another tab stays out after cycleKey', (t) => {
  const e = memory();
  t.after(() => e.close());
  const login = e.beginRequest(null);
  login.set('user_id', 42);
  const cookie = login.endRequest(200).setCookie.split(';')[0];
  login.close();
  const tabA = e.beginRequest(cookie);
  assert.equal(tabA.get('user_id'), 42);
  const tabB = e.beginRequest(cookie);
  tabB.flush();
  assert.match(tabB.endRequest(200).setCookie, /Max-Age=0/);
  tabB.close();
  assert.throws(() => tabA.cycleKey(), { code: 'SESSION_DELETED' });
  tabA.set('user_id', 42);
  assert.throws(() => tabA.endRequest(200), { code: 'SESSION_DELETED' });
  tabA.close();
  assert.equal(e.count(), 0);
});

test('compression is fixed when the database is created', (t) => {
  const dir = tempDir(t);
  let e = Engine.open(dir, { compression: true });
  const key = e.create({ kept: true }, { durable: true });
  e.close();
  assert.throws(() => Engine.open(dir, { compression: false }), {
    code: 'INVALID_ARGUMENT',
    message: /created with compression/,
  });
  e = Engine.open(dir); // unset: follows the database
  assert.deepEqual(e.load(key).data, { kept: true });
  e.close();
});

test('an on-disk database keeps sessions across close and reopen', (t) => {
  const dir = tempDir(t);
  let e = Engine.open(dir);
  const key = e.create({ kept: true }, { durable: true });
  e.close();
  assert.throws(() => e.load(key), { code: 'CLOSED' });
  e = Engine.open(dir);
  assert.deepEqual(e.load(key).data, { kept: true });
  e.close();
  assert.ok(isValidKey(generateKey()));
});

test('setExpiry refuses what is outside 1 s to 400 days, and changes nothing', (t) => {
  const { MAX_AGE_S } = require('..');
  assert.equal(MAX_AGE_S, 34560000);
  const e = memory();
  t.after(() => e.close());
  const s = e.session();
  s.set('a', 1);
  s.setExpiry(300);
  const now = e.now();
  for (const bad of [-1, -1e30, MAX_AGE_S + 1, 1e30, Number.MAX_VALUE, new Date(now - 1000), new Date(now),
    new Date(now + MAX_AGE_S * 1000 + 1)]) {
    assert.throws(() => s.setExpiry(bad), (err) => err.code === 'INVALID_ARGUMENT' && /400 days/.test(err.message), String(bad));
    assert.equal(s.expiryAge, 300);
  }
  assert.throws(() => s.setExpiry(-1), /expiry seconds .* not -1/);
  s.setExpiry(MAX_AGE_S);
  s.setExpiry(new Date(now + MAX_AGE_S * 1000));
  s.setExpiry(1);
  // The store level refuses a negative or over-long age too.
  assert.throws(() => e.create({ a: 1 }, { expiry: -1 }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => e.create({ a: 1 }, { expiry: MAX_AGE_S + 1 }), { code: 'INVALID_ARGUMENT' });
});

test('the manual clock stops at its ends instead of wrapping', (t) => {
  const e = memory();
  t.after(() => e.close());
  const end = 253402300799999; // the end of the year 9999
  e.advanceClock(Number.MAX_VALUE);
  assert.equal(e.now(), end);
  e.advanceClock(Number.MAX_SAFE_INTEGER);
  assert.equal(e.now(), end);
  e.advanceClock(-Number.MAX_VALUE);
  assert.equal(e.now(), 0);
  for (const bad of [-1, -Number.MAX_VALUE, end + 1]) {
    assert.throws(() => e.setClock(bad), (err) => err.code === 'INVALID_ARGUMENT' && /now_ms/.test(err.message));
  }
  assert.equal(e.now(), 0);
});

test('on the system clock the engine tells the time Date.now tells, and refuses once closed', () => {
  const e = Engine.open(null, { memory: true, sweepIntervalMs: 0 });
  const before = Date.now();
  const now = e.now();
  assert.ok(now >= before && now <= Date.now(), `${now - before} ms`);
  const key = e.create({ a: 1 }, { expiry: 60 });
  const { expiresAt } = e.load(key);
  assert.ok(expiresAt >= now + 60000 && expiresAt <= Date.now() + 60000, 'the library counts from the same clock');
  e.close();
  assert.throws(() => e.now(), { code: 'CLOSED' });
});

test('a file or a project folder is not a database, and nothing is made there', (t) => {
  const fs = require('node:fs');
  const path = require('node:path');
  const project = tempDir(t);
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'app.js'), '');
  for (const p of [path.join(project, 'app.js'), project]) {
    assert.throws(() => Engine.open(p),
      (err) => err.code === 'NOT_A_DATABASE' && err.result === 18 && /is not a sessile database/.test(err.message));
  }
  assert.deepEqual(fs.readdirSync(project), ['app.js']);
  const e = Engine.open(path.join(project, 'sessions'));
  e.close();
});

test('a database held by another process is LOCKED, naming the holder and the way out', async (t) => {
  const { spawn } = require('node:child_process');
  const path = require('node:path');
  const db = tempDir(t);
  const pkg = path.resolve(__dirname, '..');
  const child = spawn(process.execPath, ['-e',
    `const e = require(${JSON.stringify(pkg)}).Engine.open(${JSON.stringify(db)}); ` +
    "console.log('ready'); process.stdin.on('end', () => { e.close(); process.exit(0); }); process.stdin.resume();"],
  { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => { child.stdin.end(); });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { if (String(d).includes('ready')) resolve(); });
    child.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
  assert.throws(() => Engine.open(db), (err) => err.code === 'LOCKED' &&
    err.message.includes(`(pid ${child.pid})`) && /one process at a time/.test(err.message) &&
    /redis:\/\//.test(err.message) && /one worker with threads/.test(err.message));
  child.stdin.end();
  await new Promise((resolve) => child.on('exit', resolve));
});
