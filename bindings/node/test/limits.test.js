'use strict';
// Expiry on the controlled clock, the sweeper, and the limits and bad
// input that the engine refuses with clear errors.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Engine, SessileStore } = require('..');
const { promisify } = require('./helpers');

const T0 = 1700000000000;

test('expired sessions are never returned, and the sweeper removes them', async (t) => {
  const store = new SessileStore({ memory: true, manualClock: T0, sweepIntervalMs: 0 });
  t.after(() => store.close());
  const sid = store.genid();
  await promisify(store, 'set', sid, { cookie: { maxAge: 10000 }, user: 'dave' });
  store.engine.advanceClock(9999);
  assert.equal((await promisify(store, 'get', sid)).user, 'dave');
  store.engine.advanceClock(1);
  assert.equal(await promisify(store, 'get', sid), null);
  assert.equal(await promisify(store, 'length'), 0);
  assert.deepEqual(await promisify(store, 'all'), []);
  assert.equal(store.engine.clearExpired(), 1);
  // An expiry already past deletes instead of writing.
  await promisify(store, 'set', sid, { cookie: { expires: new Date(Date.now() - 1000) } });
  assert.equal(await promisify(store, 'get', sid), null);
});

test('limits: data key length, value size, number of keys', (t) => {
  const e = Engine.open(null, { memory: true, manualClock: T0, sweepIntervalMs: 0, maxDataKeyLen: 8, maxValueSize: 64, maxKeys: 3 });
  t.after(() => e.close());
  assert.throws(() => e.create({ ['k'.repeat(9)]: 1 }), (err) => err.code === 'TOO_LARGE' && /key/.test(err.message));
  assert.throws(() => e.create({ v: 'x'.repeat(100) }), (err) => err.code === 'TOO_LARGE' && /value/.test(err.message));
  assert.throws(() => e.create({ a: 1, b: 2, c: 3, d: 4 }), (err) => err.code === 'TOO_LARGE' && /keys/.test(err.message));
  const s = e.session();
  assert.throws(() => s.set('v', 'x'.repeat(100)), { code: 'TOO_LARGE' });
  s.close();
  const store = new SessileStore({ engine: e });
  return assert.rejects(promisify(store, 'set', store.genid(), { cookie: {}, big: 'x'.repeat(100) }), { code: 'TOO_LARGE' });
});

test('bad input: non-serialisable values, malformed ids, oversize data', (t) => {
  const e = Engine.open(null, { memory: true, manualClock: T0, sweepIntervalMs: 0, maxRecordSize: 4096 });
  t.after(() => e.close());
  const circular = {};
  circular.self = circular;
  assert.throws(() => e.create({ c: circular }), (err) => err.code === 'INVALID_VALUE' && /circular/.test(err.message));
  assert.throws(() => e.create({ f: () => 1 }), (err) => err.code === 'INVALID_VALUE' && /function/.test(err.message));
  assert.throws(() => e.create({ s: Symbol('x') }), { code: 'INVALID_VALUE' });
  assert.throws(() => e.create([1, 2]), { code: 'INVALID_VALUE' });
  assert.throws(() => e.create({ big: 'x'.repeat(10000) }), { code: 'TOO_LARGE' });
  for (const bad of ['', 'short', 'A'.repeat(32), '../../../../etc/passwd/xxxxxxxxx', 'é'.repeat(16)]) {
    assert.equal(e.load(bad), null);
    assert.throws(() => e.save(bad, {}), (err) => err.code === 'INVALID_KEY' && /session key/.test(err.message));
  }
  assert.throws(() => e.load(42), { code: 'INVALID_KEY' });
  assert.throws(() => e.scan({ limit: 0 }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => Engine.open(null, { memory: true, bogus: 1 }), /unknown option bogus/);
});
