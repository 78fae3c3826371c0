'use strict';
// Guards that SessileStore stores what express-session means by a session
// (its JSON form) while skipping the JSON text: lib/json-pack.js must give
// exactly the bytes of the round trip it replaced, JSON.parse(JSON.stringify(x))
// packed with the engine's msgpackr settings (integers beyond 32 bits as
// int64), and refuse what JSON.stringify refuses. Hand-picked corners of
// JSON.stringify (toJSON with its key, Dates, undefined and functions in
// objects and arrays, NaN, -0, boxed primitives, class instances, Buffers,
// Maps, "__proto__" keys, key order, long and non-ASCII strings, lone
// surrogates, header sizes at their limits, a result larger than the
// writer's buffer), then seeded random values, then the store itself.

const test = require('node:test');
const assert = require('node:assert/strict');
const session = require('express-session');
const { SessileStore } = require('..');
const { packPlain, decode } = require('../lib/engine');
const { packJSON } = require('../lib/json-pack');
const { promisify } = require('./helpers');

/** The bytes SessileStore wrote before lib/json-pack.js. */
function roundTrip(value) {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : packPlain(JSON.parse(text));
}

function assertSameBytes(value, what) {
  const expected = roundTrip(value);
  const got = packJSON(value);
  if (expected === undefined) {
    assert.equal(got, undefined, what);
    return;
  }
  assert.ok(Buffer.isBuffer(got), what);
  assert.equal(got.toString('hex'), expected.toString('hex'), what);
}

class Point {
  constructor() {
    this.x = 1;
    this.hidden = undefined;
  }

  get y() {
    return 2; // on the prototype: JSON leaves it out
  }
}

/** Deterministic random values (mulberry32). */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CORNERS = {
  scalars: [0, -0, 1, -1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -31, -32, -33, -128, -129,
    -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 1.5, -2.25, 1e300, 5e-324, NaN, Infinity, -Infinity,
    2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 60, 5_000_000_000, -(2 ** 40), '', 'a', true, false, null],
  objects: {
    date: new Date(0),
    invalidDate: new Date(NaN),
    undef: undefined,
    fn() {},
    sym: Symbol('s'),
    list: [undefined, () => 1, Symbol('t'), NaN, -0, new Date(5), [1, [2, [3]]]],
    nested: { a: { b: { c: {} } }, empty: [] },
  },
  toJSON: {
    withKey: { toJSON(key) { return `key:${key}`; } },
    inArray: [{ toJSON(key) { return typeof key + key; } }],
    dropped: { toJSON() { return undefined; } },
    returnsDate: { toJSON() { return new Date(0); } }, // not converted again: JSON sees an object
    point: new Point(),
  },
  builtins: {
    boxed: [new Number(3), new String('s'), new Boolean(false), Object(5_000_000_000)],
    map: new Map([[1, 2]]),
    set: new Set([1]),
    buffer: Buffer.from('hi'),
    bytes: new Uint8Array([1, 2]),
    nullProto: Object.assign(Object.create(null), { x: 1, y: { z: [1] } }),
  },
  keys: JSON.parse('{"__proto__": {"x": 1}, "b": 1, "2": 2, "a": 3, "1": 4, "constructor": 5}'),
  strings: {
    accents: 'héllo wörld ñ',
    emoji: '😀 and 🎉',
    lone: 'a\ud800b',
    loneLong: `${'x'.repeat(70)}\ud800`,
    long: 'z'.repeat(300),
    sizes: [31, 32, 255, 256, 65535, 65536].map((n) => 'y'.repeat(n)),
    multiByteAtLimits: ['é'.repeat(15), 'é'.repeat(16), '€'.repeat(10), '€'.repeat(11), '€'.repeat(85), '€'.repeat(86)],
  },
  sizes: {
    map15: Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])),
    map16: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
    // 16 keys, one left out: the header shrinks back to a fixmap.
    map16less1: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i === 3 ? undefined : i])),
    map65536less1: Object.fromEntries(Array.from({ length: 65536 }, (_, i) => [`k${i}`, i === 9 ? undefined : i])),
    array15: Array(15).fill(1),
    array16: Array(16).fill(1),
    array65536: Array(65536).fill(0),
    big: Array.from({ length: 2000 }, (_, i) => ({ i, s: `item ${i} ${'é'.repeat(i % 50)}` })),
  },
};

test('the JSON form is packed exactly as the JSON round trip packed it', () => {
  for (const v of CORNERS.scalars) assertSameBytes(v, String(v));
  for (const [name, v] of Object.entries(CORNERS)) {
    if (name === 'scalars') continue;
    assertSameBytes(v, name);
    for (const [k, inner] of Object.entries(v)) assertSameBytes(inner, `${name}.${k}`);
  }
  assertSameBytes(undefined, 'undefined');
  assertSameBytes(() => 1, 'a function');
  assertSameBytes({ toJSON() { return undefined; } }, 'toJSON giving undefined');
});

test('Dates are written as toISOString writes them', () => {
  const YEAR_0 = -62167219200000;
  const YEAR_10000 = 253402300800000;
  const times = [0, -1, 1, YEAR_0, YEAR_0 - 1, YEAR_10000 - 1, YEAR_10000, 8.64e15, -8.64e15,
    Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(1900, 2, 1), Date.UTC(2100, 1, 28, 12), Date.UTC(1969, 11, 31, 23, 59, 59, 999)];
  const random = prng(0xda7e);
  for (let i = 0; i < 20000; i++) times.push(Math.floor((random() - 0.3) * 2 * YEAR_10000));
  for (const time of times) assertSameBytes({ at: new Date(time), list: [new Date(time)] }, new Date(time).toString());

  class Day extends Date {
    toISOString() {
      return 'a day';
    }
  }
  const ownISO = new Date(0);
  ownISO.toISOString = () => 'own';
  const ownValueOf = new Date(0);
  ownValueOf.valueOf = () => NaN; // toJSON asks valueOf whether the Date is valid
  assertSameBytes({ day: new Day(0), ownISO, ownValueOf, invalid: new Date(NaN) }, 'Dates that are not plain');
  const notADate = Object.create(Date.prototype);
  assert.throws(() => JSON.stringify(notADate), TypeError);
  assert.throws(() => packJSON(notADate), TypeError);
});

test('an express-session Session is packed as its JSON', () => {
  const store = new session.MemoryStore();
  const req = { sessionID: 'abc' };
  const sess = store.createSession(req, {
    cookie: { originalMaxAge: 60000, expires: new Date(Date.now() + 60000).toISOString(), httpOnly: true, path: '/' },
    user: { id: 5_000_000_000, name: 'ann' },
    list: [1, 'two', null],
  });
  sess.later = undefined;
  assertSameBytes(sess, 'Session');
  assert.equal(decode(packJSON(sess)).user.id, 5_000_000_000);
});

test('what JSON.stringify refuses is refused with its TypeError', () => {
  const cycle = { a: {} };
  cycle.a.back = cycle;
  const arrayCycle = [];
  arrayCycle.push({ list: arrayCycle });
  const cases = [{ n: 1n }, [2n], { boxed: Object(1n) }, cycle, arrayCycle];
  for (const value of cases) {
    assert.throws(() => JSON.stringify(value), TypeError);
    assert.throws(() => packJSON(value), TypeError);
  }
  // A value seen twice without a cycle is fine.
  const shared = { s: 1 };
  assertSameBytes({ a: shared, b: [shared, shared] }, 'shared, not circular');
  // After a refusal the next value packs from a clean state.
  assertSameBytes({ after: 'a refusal' }, 'after a refusal');
});

test('earlier results stay intact while later values are packed', () => {
  const first = packJSON({ first: 'x'.repeat(1000) });
  const copy = Buffer.from(first);
  for (let i = 0; i < 200; i++) packJSON({ i, filler: 'y'.repeat(500) });
  assert.deepEqual(first, copy);
});

function randomValue(random, depth) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  const r = random();
  if (depth > 3 || r < 0.5) {
    return pick([
      () => Math.floor((random() - 0.5) * 2 ** (1 + Math.floor(random() * 60))),
      () => (random() - 0.5) * 10 ** Math.floor(random() * 20),
      () => pick(CORNERS.scalars),
      () => String.fromCharCode(...Array.from({ length: Math.floor(random() * 80) }, () => pick([97, 233, 8364, 0xd83d, 0xde00, 0x0a, 0x22]))),
      () => pick([undefined, null, true, false, new Date(Math.floor(random() * 2 ** 41)), () => 0]),
    ])();
  }
  if (r < 0.75) return Array.from({ length: Math.floor(random() * 20) }, () => randomValue(random, depth + 1));
  const out = {};
  for (let i = Math.floor(random() * 20); i > 0; i--) out[pick(['a', 'b', 'c', '1', '10', 'é', `k${i}`, '__proto__x'])] = randomValue(random, depth + 1);
  return out;
}

test('seeded random values pack as their JSON round trip does', () => {
  const random = prng(0x15a7);
  for (let i = 0; i < 2000; i++) {
    const value = { v: randomValue(random, 0) };
    assertSameBytes(value, JSON.stringify(value, (k, v) => (typeof v === 'function' ? '<fn>' : v)).slice(0, 200));
  }
});

test('SessileStore stores the JSON form and refuses a session that is not an object', async (t) => {
  const store = new SessileStore({ memory: true, sweepIntervalMs: 0 });
  t.after(() => store.close());
  const sid = store.genid();
  await promisify(store, 'set', sid, { cookie: { maxAge: 60000 }, when: new Date(0), gone: undefined, n: NaN, big: 2 ** 40 });
  assert.deepEqual(await promisify(store, 'get', sid), {
    cookie: { maxAge: 60000 }, when: '1970-01-01T00:00:00.000Z', n: null, big: 2 ** 40,
  });
  for (const bad of [null, [1], 'text', undefined]) {
    await assert.rejects(promisify(store, 'set', sid, bad), (e) => e.code === 'INVALID_VALUE' && /must be an object/.test(e.message));
  }
  await assert.rejects(promisify(store, 'set', sid, { n: 2n }), (e) => e.code === 'INVALID_VALUE' && /BigInt/.test(e.message));
});
