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
