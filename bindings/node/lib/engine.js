'use strict';
// The core API: an Engine (one session database) with the store level
// (keyed by session id, data as plain objects carried as MessagePack) and
// the session level (Django's request.session). All calls are synchronous;
// SessileStore moves a network store's calls off the event loop
// (lib/offload.js).

const koffi = require('koffi');
const { Packr } = require('msgpackr');
const native = require('./native');
const { SessileError, check, take } = native;

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, int64AsType: 'number' });

const EXPIRY = Object.freeze({ DEFAULT: 0, BROWSER_CLOSE: 1, SECONDS: 2, AT: 3, KEEP: 4 });
/**
 * The longest expiry sessile accepts, in seconds: 400 days, the longest
 * browsers keep a cookie (RFC 6265bis). Also the furthest ahead a Date may be.
 */
const MAX_AGE_S = 400 * 86400;

/** A number as an int64 koffi can pass unchanged; beyond, the library says what the range is. */
function toInt64(n) {
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Math.trunc(n), Number.MAX_SAFE_INTEGER));
}
const SAVE = Object.freeze({ UPSERT: 1, DURABLE: 2, CLEAR: 4 });
const KEY_RE = /^[a-z0-9]{32}$/;
/** Store URLs whose every call is a round trip to a server (src/engine/mod.rs's schemes). */
const NETWORK_URL = /^(redis|rediss|redis\+unix|unix):\/\//i;
const EMPTY = Buffer.alloc(0);
const SIZE_T_BYTES = koffi.sizeof('size_t');

/** A safe integer beyond 32 bits: msgpackr would write it as a float64 (see exactIntegers). */
function isWideInteger(n) {
  return Number.isSafeInteger(n) && (n > 0xffffffff || n < -0x80000000);
}

/**
 * Refuses what MessagePack cannot carry faithfully, naming where it is.
 * Returns whether it met an integer beyond 32 bits, so that exactIntegers
 * walks the value again only then.
 */
function checkValue(value, where, seen = new Set()) {
  switch (typeof value) {
    case 'number':
      return isWideInteger(value);
    case 'function':
    case 'symbol':
      throw new SessileError('INVALID_VALUE', `sessile: ${where} is a ${typeof value}, which cannot be stored`);
    case 'bigint':
      if (value < -(2n ** 63n) || value >= 2n ** 64n) {
        throw new SessileError('INVALID_VALUE', `sessile: ${where} is a BigInt outside 64 bits`);
      }
      return false;
    case 'object': {
      if (value === null || value instanceof Date || ArrayBuffer.isView(value)) return false;
      if (seen.has(value)) {
        throw new SessileError('INVALID_VALUE', `sessile: ${where} is a circular reference`);
      }
      seen.add(value);
      let wide = false;
      if (value instanceof Map) {
        for (const [k, v] of value) wide = checkValue(v, `${where}[${String(k)}]`, seen) || wide;
      } else {
        for (const k of Object.keys(value)) wide = checkValue(value[k], `${where}.${k}`, seen) || wide;
      }
      seen.delete(value);
      return wide;
    }
    default:
      return false;
  }
}

/**
 * `value` with every integer beyond 32 bits (a safe integer) as a BigInt,
 * copied where it changes, in plain objects and arrays. msgpackr writes a
 * Number as a MessagePack integer only within 32 bits and as a float64
 * beyond, so a user id such as 5000000000 would be stored as 5000000000.0:
 * a float names no owner (`ownerKey`), and other languages read it back as
 * a float. A BigInt is written as an int64, which reads back as a Number
 * (int64AsType). Maps, Dates and typed arrays are passed as they are.
 * (SessileStore's own packing, lib/json-pack.js, writes int64 itself.)
 */
function exactIntegers(value) {
  if (typeof value === 'number') return isWideInteger(value) ? BigInt(value) : value;
  if (value === null || typeof value !== 'object') return value;
  let out = value;
  const put = (k, v) => {
    if (Object.is(v, value[k])) return;
    if (out === value) out = Array.isArray(value) ? value.slice() : { ...value };
    // defineProperty: an own key "__proto__" (JSON.parse makes them) stays a key.
    Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
  };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) put(i, exactIntegers(value[i]));
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  for (const k of Object.keys(value)) put(k, exactIntegers(value[k]));
  return out;
}

function encodeMap(data, what = 'session data') {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new SessileError('INVALID_VALUE', `sessile: ${what} must be a plain object`);
  }
  let wide = false;
  for (const k of Object.keys(data)) wide = checkValue(data[k], JSON.stringify(k)) || wide;
  return packr.pack(wide ? exactIntegers(data) : data);
}

function encodeValue(value, where) {
  return packr.pack(checkValue(value, where) ? exactIntegers(value) : value);
}

function decode(bytes) {
  return bytes && bytes.length ? packr.unpack(bytes) : {};
}

/** An expiry given as a number of seconds, a Date, null (default), or {kind, value}. */
function toExpiry(e) {
  if (e === undefined) return { kind: EXPIRY.KEEP, value: 0 };
  if (e === null) return { kind: EXPIRY.DEFAULT, value: 0 };
  if (typeof e === 'number') {
    if (!Number.isFinite(e)) throw new SessileError('INVALID_ARGUMENT', 'sessile: expiry seconds must be finite');
    return { kind: EXPIRY.SECONDS, value: toInt64(e) };
  }
  if (e instanceof Date) {
    const t = e.getTime();
    if (Number.isNaN(t)) throw new SessileError('INVALID_ARGUMENT', 'sessile: expiry is an invalid Date');
    return { kind: EXPIRY.AT, value: t };
  }
  if (typeof e === 'object' && typeof e.kind === 'number') return { kind: e.kind, value: toInt64(e.value || 0) };
  throw new SessileError('INVALID_ARGUMENT', `sessile: unusable expiry ${String(e)}`);
}

function fromExpiry(x) {
  return { kind: x.kind, value: Number(x.value) };
}

function keyBytes(key, what = 'session id') {
  if (typeof key !== 'string') throw new SessileError('INVALID_KEY', `sessile: the ${what} must be a string`);
  return Buffer.from(key, 'utf8');
}

/**
 * An owner as the engine names it: a string, or an integer by its decimal
 * digits (the engine makes 42 and "42" one owner).
 */
function ownerText(owner) {
  if (typeof owner === 'string') return owner;
  if ((typeof owner === 'number' && Number.isSafeInteger(owner)) || typeof owner === 'bigint') return String(owner);
  const what = typeof owner === 'number' ? String(owner) : owner === null ? 'null' : `a ${typeof owner}`;
  throw new SessileError('INVALID_ARGUMENT', `sessile: an owner is a string or an integer, not ${what}`);
}

/** The entries of a scan page (sessile_store_scan's format) as listed sessions. */
function listed(page) {
  return packr.unpack(page).map(([key, data, kind, value, at]) => ({ key, data, expiry: { kind, value: Number(value) }, expiresAt: Number(at) }));
}

const OPTION_SETTERS = {
  cookieName: ['cookie_name', 'string'],
  cookieAge: ['cookie_age', 'number'],
  cookieDomain: ['cookie_domain', 'string'],
  cookiePath: ['cookie_path', 'string'],
  cookieSecure: ['cookie_secure', 'boolean'],
  cookieHttpOnly: ['cookie_httponly', 'boolean'],
  cookieSameSite: ['cookie_samesite', 'number'],
  saveEveryRequest: ['save_every_request', 'boolean'],
  expireAtBrowserClose: ['expire_at_browser_close', 'boolean'],
  cacheCapacity: ['cache_capacity', 'number'],
  flushEveryMs: ['flush_every_ms', 'number'],
  compression: ['compression', 'boolean'],
  maxDataKeyLen: ['max_data_key_len', 'number'],
  maxValueSize: ['max_value_size', 'number'],
  maxRecordSize: ['max_record_size', 'number'],
  maxKeys: ['max_keys', 'number'],
  sweepIntervalMs: ['reaper_interval_ms', 'number'],
  sweepBudget: ['reaper_budget', 'number'],
  memory: ['memory', 'boolean'],
  manualClock: ['manual_clock', 'number'],
  ownerKey: ['owner_key', 'string'],
};

const finalizer = new FinalizationRegistry(({ api, free, handle }) => api[free](handle));

class Engine {
  /**
   * Opens (creating if needed) the database directory `path`, or the store
   * a URL names: 'redis://host:port/db' (a Redis server that several
   * processes and hosts share; query parameters prefix, connect_timeout_ms,
   * timeout_ms, pool_size; an unreachable server throws code
   * 'UNAVAILABLE'), 'sled:///absolute/dir' or 'memory:'.
   * options: library (path to libsessile), memory, manualClock (start ms),
   * sweepIntervalMs, limits, cookie settings; see index.d.ts.
   */
  static open(path, options = {}) {
    const api = native.load(options.library);
    const out = [null];
    check(api, api.options_new(out), 'options');
    const opts = out[0];
    try {
      for (const [name, value] of Object.entries(options)) {
        if (name === 'library' || value === undefined) continue;
        const setter = OPTION_SETTERS[name];
        if (!setter) throw new SessileError('INVALID_ARGUMENT', `sessile: unknown option ${name}`);
        const [cname, type] = setter;
        if (typeof value !== type) {
          throw new SessileError('INVALID_ARGUMENT', `sessile: option ${name} must be a ${type}`);
        }
        const fn = api.options[cname];
        const rc = type === 'string' ? fn(opts, Buffer.from(value), Buffer.byteLength(value)) : fn(opts, value);
        check(api, rc, `option ${name}`);
      }
      const p = Buffer.from(path == null ? '' : String(path));
      const eng = [null];
      check(api, api.engine_open(p, p.length, opts, eng), `open ${path}`);
      const engine = new Engine(api, eng[0]);
      engine._network = NETWORK_URL.test(String(path));
      engine._manualClock = options.manualClock !== undefined;
      return engine;
    } finally {
      api.options_free(opts);
    }
  }

  constructor(api, handle, { borrowed = false } = {}) {
    this._api = api;
    this._h = handle;
    // A store on another host (Redis): each call waits on the network.
    this._network = false;
    // Opened with options.manualClock: only the engine knows its time.
    // Otherwise its clock is the system's wall clock, as Date.now().
    this._manualClock = true;
    // Calls running on other threads (lib/offload.js): the handle is freed
    // only once they have all returned (sessile_engine_free's rule).
    this._inFlight = 0;
    this._freeWhenIdle = false;
    // loadRaw's buffer and output cells (a size_t, an int64_t), reused
    // (JavaScript runs one call at a time on this engine's thread).
    this._scratch = Buffer.alloc(16 * 1024);
    this._len = SIZE_T_BYTES === 8 ? new BigUint64Array(1) : new Uint32Array(1);
    this._at = new BigInt64Array(1);
    // A borrowed handle (a worker thread's view of the main thread's
    // engine) is never closed or freed through this object.
    this._borrowed = borrowed;
    if (!borrowed) finalizer.register(this, { api, free: 'engine_free', handle }, this);
  }

  /** An Engine over a handle another thread owns (lib/offload.js's workers). */
  static borrow(api, handle) {
    return new Engine(api, handle, { borrowed: true });
  }

  /** Counts a call that another thread is about to make with this handle. */
  _lend() {
    this._e();
    this._inFlight++;
    return this._h;
  }

  /** That call returned: free the handle if close() is waiting for it. */
  _return(handle) {
    this._inFlight--;
    if (this._inFlight === 0 && this._freeWhenIdle) {
      this._freeWhenIdle = false;
      this._api.engine_free(handle);
    }
  }

  /** The path of the loaded native library. */
  get library() {
    return this._api.file;
  }

  /** Stops the sweeper, flushes and releases the database. Idempotent. */
  close() {
    if (!this._h) return;
    const h = this._h;
    this._h = null;
    if (this._borrowed) return;
    finalizer.unregister(this);
    try {
      // Thread-safe and never waits for calls in flight: they finish on
      // the engine they started with, later calls get CLOSED.
      check(this._api, this._api.engine_close(h), 'close');
    } finally {
      if (this._inFlight === 0) this._api.engine_free(h);
      else this._freeWhenIdle = true;
    }
  }

  _e() {
    if (!this._h) throw new SessileError('CLOSED', 'sessile: the engine is closed');
    return this._h;
  }

  /** Loads a live session: { data, expiry, expiresAt } or null (missing, expired, malformed id). */
  load(key) {
    const k = keyBytes(key);
    const data = [null], expiry = [{}], at = [0];
    const rc = this._api.store_load(this._e(), k, k.length, data, expiry, at);
    if (rc === native.RESULT.NOT_FOUND || rc === native.RESULT.INVALID_KEY || rc === native.RESULT.CORRUPT) return null;
    check(this._api, rc, 'load');
    return { data: decode(take(this._api, data[0])), expiry: fromExpiry(expiry[0]), expiresAt: Number(at[0]) };
  }

  /**
   * The live session's data as the MessagePack bytes the store keeps (a
   * Buffer), or null (missing, expired, malformed id, damaged). With
   * `saveDiff`, this is how an adapter saves only what a request changed.
   */
  loadRaw(key) {
    const k = keyBytes(key);
    for (;;) {
      const rc = this._api.store_load_copy(this._e(), k, k.length, this._scratch, this._scratch.length, this._len, this._at);
      if (rc === native.RESULT.NOT_FOUND || rc === native.RESULT.INVALID_KEY || rc === native.RESULT.CORRUPT) return null;
      check(this._api, rc, 'load');
      const n = Number(this._len[0]);
      if (n <= this._scratch.length) return Buffer.from(this._scratch.subarray(0, n));
      // Larger than the scratch buffer: grow it and read again.
      this._scratch = Buffer.alloc(Math.max(n, 2 * this._scratch.length));
    }
  }

  /**
   * Saves `data` (the whole session: a plain object, or its MessagePack
   * bytes) as a change from `seen` (what `loadRaw` returned, or what this
   * returned on the previous save): only the keys whose value differs are
   * written and only the keys that disappeared are removed, so parallel
   * requests changing different keys keep both. Returns the bytes saved
   * (the `seen` of the next save).
   */
  saveDiff(key, seen, data, { expiry, upsert = false, durable = false } = {}) {
    const k = keyBytes(key);
    const bytes = Buffer.isBuffer(data) ? data : encodeMap(data);
    const base = seen || EMPTY;
    const flags = (upsert ? SAVE.UPSERT : 0) | (durable ? SAVE.DURABLE : 0);
    check(this._api, this._api.store_save_diff(this._e(), k, k.length, base, base.length, bytes, bytes.length, toExpiry(expiry), flags), 'save');
    return bytes;
  }

  exists(key) {
    const k = keyBytes(key);
    const out = [false];
    check(this._api, this._api.store_exists(this._e(), k, k.length, out), 'exists');
    return out[0];
  }

  /** Creates a session under a fresh key; returns the key. */
  create(data = {}, { expiry = null, durable = false } = {}) {
    const bytes = encodeMap(data);
    const out = [null];
    check(this._api, this._api.store_create(this._e(), bytes, bytes.length, toExpiry(expiry), durable ? SAVE.DURABLE : 0, out), 'create');
    return take(this._api, out[0]).toString('latin1');
  }

  /**
   * Replaces a session's data (a plain object, or its MessagePack bytes).
   * upsert creates it under `key` if missing.
   */
  save(key, data, { expiry, upsert = false, durable = false } = {}) {
    const k = keyBytes(key);
    const bytes = Buffer.isBuffer(data) ? data : encodeMap(data);
    const flags = (upsert ? SAVE.UPSERT : 0) | (durable ? SAVE.DURABLE : 0);
    check(this._api, this._api.store_save(this._e(), k, k.length, bytes, bytes.length, toExpiry(expiry), flags), 'save');
  }

  /** Applies a change (set some keys, remove others) without touching the rest. */
  saveDelta(key, { set = {}, remove = [], clear = false } = {}, { expiry, upsert = false, durable = false } = {}) {
    const k = keyBytes(key);
    const s = encodeMap(set, 'the keys to set');
    if (!Array.isArray(remove) || remove.some((x) => typeof x !== 'string')) {
      throw new SessileError('INVALID_VALUE', 'sessile: the keys to remove must be an array of strings');
    }
    const r = remove.length ? packr.pack(remove) : Buffer.alloc(0);
    const flags = (upsert ? SAVE.UPSERT : 0) | (durable ? SAVE.DURABLE : 0) | (clear ? SAVE.CLEAR : 0);
    check(this._api, this._api.store_save_delta(this._e(), k, k.length, s, s.length, r, r.length, toExpiry(expiry), flags), 'save');
  }

  /** Extends a session's life without rewriting its data. false when it is gone. */
  touch(key, expiry) {
    const k = keyBytes(key);
    const rc = this._api.store_touch(this._e(), k, k.length, toExpiry(expiry));
    if (rc === native.RESULT.NOT_FOUND) return false;
    check(this._api, rc, 'touch');
    return true;
  }

  delete(key) {
    const k = keyBytes(key);
    check(this._api, this._api.store_delete(this._e(), k, k.length), 'delete');
  }

  /** One page of live sessions after `after`: { sessions, next } (next null at the end). */
  scan({ after = null, limit = 100 } = {}) {
    const a = after == null ? Buffer.alloc(0) : keyBytes(after, 'cursor');
    const page = [null], next = [null];
    check(this._api, this._api.store_scan(this._e(), a, a.length, limit, page, next), 'scan');
    const sessions = listed(take(this._api, page[0]));
    const n = take(this._api, next[0]);
    return { sessions, next: n ? n.toString('latin1') : null };
  }

  /** Every live session, page by page. */
  *sessions({ pageSize = 256 } = {}) {
    let after = null;
    do {
      const { sessions, next } = this.scan({ after, limit: pageSize });
      yield* sessions;
      after = next;
    } while (after);
  }

  /**
   * The live sessions of `owner` (a string, or an integer: 42 and "42" are
   * one owner), the one that expires last first: those whose data names it
   * under the `ownerKey` option. INVALID_ARGUMENT when the engine has no
   * owner key (neither given nor kept by the database).
   */
  sessionsOf(owner) {
    const o = Buffer.from(ownerText(owner), 'utf8');
    const page = [null];
    check(this._api, this._api.store_sessions_of(this._e(), o, o.length, page), 'sessions of an owner');
    return listed(take(this._api, page[0]));
  }

  /**
   * Ends every live session of `owner` but the one under the key `except`
   * (null: all of them); returns how many ended. A request still holding
   * one cannot save it back (SESSION_DELETED).
   */
  endSessionsOf(owner, except = null) {
    const o = Buffer.from(ownerText(owner), 'utf8');
    const x = except == null ? EMPTY : keyBytes(except, 'key to keep');
    const out = [0];
    check(this._api, this._api.store_end_sessions_of(this._e(), o, o.length, x, x.length, out), 'end the sessions of an owner');
    return Number(out[0]);
  }

  count() {
    const out = [0];
    check(this._api, this._api.store_count(this._e(), out), 'count');
    return Number(out[0]);
  }

  deleteAll() {
    const out = [0];
    check(this._api, this._api.store_delete_all(this._e(), out), 'delete all');
    return Number(out[0]);
  }

  clearExpired() {
    const out = [0];
    check(this._api, this._api.engine_clear_expired(this._e(), out), 'clear expired');
    return Number(out[0]);
  }

  flush() {
    check(this._api, this._api.engine_flush(this._e()), 'flush');
  }

  /** The engine's clock, ms since the epoch. */
  now() {
    // The system clock needs no call into the library (one per
    // SessileStore#set; docs/BENCHMARKS.md, "express-session stores").
    if (!this._manualClock) {
      this._e();
      return Date.now();
    }
    const out = [0];
    check(this._api, this._api.engine_now(this._e(), out), 'now');
    return Number(out[0]);
  }

  /** Moves the manual clock (options.manualClock) by `ms`; it stops at the epoch and at the end of 9999. */
  advanceClock(ms) {
    check(this._api, this._api.engine_advance_clock(this._e(), toInt64(ms)), 'advance clock');
  }

  setClock(ms) {
    check(this._api, this._api.engine_set_clock(this._e(), toInt64(ms)), 'set clock');
  }

  /** A session object: a new one, or the one under `key` (loaded lazily). */
  session(key) {
    const out = [null];
    if (key === undefined || key === null) {
      check(this._api, this._api.session_new(this._e(), out), 'new session');
    } else {
      const k = keyBytes(key);
      check(this._api, this._api.session_open(this._e(), k, k.length, out), 'open session');
    }
    return new Session(this._api, out[0]);
  }

  /** Starts a request from its Cookie header (Django's SessionMiddleware). */
  beginRequest(cookieHeader) {
    const c = cookieHeader ? Buffer.from(cookieHeader, 'latin1') : Buffer.alloc(0);
    const out = [null];
    check(this._api, this._api.request_begin(this._e(), c, c.length, out), 'begin request');
    return new Session(this._api, out[0]);
  }
}

class Session {
  constructor(api, handle, { borrowed = false } = {}) {
    this._api = api;
    this._h = handle;
    // A store on another host (Redis): each call waits on the network.
    this._network = false;
    // Calls running on other threads (lib/offload.js): the handle is freed
    // only once they have all returned (sessile_engine_free's rule).
    this._inFlight = 0;
    this._freeWhenIdle = false;
    finalizer.register(this, { api, free: 'session_free', handle }, this);
  }

  _s() {
    if (!this._h) throw new SessileError('CLOSED', 'sessile: the session is closed');
    return this._h;
  }

  _call(name, what, ...args) {
    check(this._api, this._api[name](this._s(), ...args), what);
  }

  /** The session key, or null before the first save. */
  get key() {
    const out = [null];
    const rc = this._api.session_key(this._s(), out);
    if (rc === native.RESULT.NOT_FOUND) return null;
    check(this._api, rc, 'key');
    return take(this._api, out[0]).toString('latin1');
  }

  get(name, fallback = undefined) {
    const k = keyBytes(name, 'data key');
    const out = [null];
    const rc = this._api.session_get(this._s(), k, k.length, out);
    if (rc === native.RESULT.NOT_FOUND) return fallback;
    check(this._api, rc, `get ${name}`);
    return packr.unpack(take(this._api, out[0]));
  }

  set(name, value) {
    const k = keyBytes(name, 'data key');
    const v = encodeValue(value, JSON.stringify(name));
    this._call('session_set', `set ${name}`, k, k.length, v, v.length);
  }

  delete(name) {
    const k = keyBytes(name, 'data key');
    const rc = this._api.session_remove(this._s(), k, k.length);
    if (rc === native.RESULT.NOT_FOUND) return false;
    check(this._api, rc, `delete ${name}`);
    return true;
  }

  has(name) {
    const k = keyBytes(name, 'data key');
    const out = [false];
    this._call('session_contains', `has ${name}`, k, k.length, out);
    return out[0];
  }

  keys() {
    const out = [null];
    this._call('session_keys', 'keys', out);
    return packr.unpack(take(this._api, out[0]));
  }

  /** Every key and value, as an object. */
  toObject() {
    const out = [null];
    this._call('session_data', 'data', out);
    return decode(take(this._api, out[0]));
  }

  get size() {
    const out = [0];
    this._call('session_len', 'len', out);
    return Number(out[0]);
  }

  get modified() {
    const out = [false];
    this._call('session_modified', 'modified', out);
    return out[0];
  }

  get accessed() {
    const out = [false];
    this._call('session_accessed', 'accessed', out);
    return out[0];
  }

  clear() { this._call('session_clear', 'clear'); }
  /** Logout: deletes the stored session and empties this one. */
  flush() { this._call('session_flush', 'flush'); }
  /** Login: moves the data to a new key. */
  cycleKey() { this._call('session_cycle_key', 'cycle key'); }
  save({ durable = false } = {}) { this._call('session_save', 'save', durable ? SAVE.DURABLE : 0); }
  /** Deletes the stored record; the data stays in hand. */
  deleteStored() { this._call('session_delete', 'delete'); }

  /**
   * Django's set_expiry: seconds (0 = browser close), a Date, or null
   * (default). Seconds must be 0 or 1 to MAX_AGE_S (400 days), a Date later
   * than now and at most 400 days ahead; anything else throws INVALID_ARGUMENT
   * and changes nothing (Django takes any value; to end a session now, flush).
   */
  setExpiry(expiry) {
    this._call('session_set_expiry', 'set expiry', toExpiry(expiry === undefined ? null : expiry));
  }

  get expiry() {
    const out = [{}];
    this._call('session_get_expiry', 'get expiry', out);
    return fromExpiry(out[0]);
  }

  get expiryAge() {
    const out = [0];
    this._call('session_get_expiry_age', 'expiry age', out);
    return Number(out[0]);
  }

  get expiryDate() {
    const out = [0];
    this._call('session_get_expiry_date', 'expiry date', out);
    return new Date(Number(out[0]));
  }

  /** Ends a request: { setCookie, varyCookie } per Django's middleware rules. Closes nothing. */
  endRequest(status = 200) {
    const cookie = [null], flags = [0];
    this._call('request_end', 'end request', status, cookie, flags);
    const c = take(this._api, cookie[0]);
    return { setCookie: c ? c.toString('latin1') : null, varyCookie: (flags[0] & 1) !== 0 };
  }

  close() {
    if (!this._h) return;
    const h = this._h;
    this._h = null;
    finalizer.unregister(this);
    this._api.session_free(h);
  }
}

/** A fresh random session key (32 characters of [a-z0-9]). */
function generateKey(options = {}) {
  const api = native.load(options.library);
  const out = [null];
  check(api, api.key_generate(out), 'generate key');
  return take(api, out[0]).toString('latin1');
}

function isValidKey(key) {
  return typeof key === 'string' && KEY_RE.test(key);
}

function version(options = {}) {
  return native.load(options.library).version();
}

/** MessagePack bytes of an object known to be plain JSON data (no checks needed). */
function packPlain(plain) {
  return packr.pack(exactIntegers(plain));
}

module.exports = { Engine, Session, generateKey, isValidKey, version, EXPIRY, MAX_AGE_S, SessileError, checkValue, encodeMap, decode, packPlain, ownerText };
