'use strict';
// SessileStore: an express-session Store (also accepted by @fastify/session)
// over the sessile engine. `set` writes only the keys a request changed
// since its `get`, so parallel requests changing different keys keep both:
// `get` keeps the bytes it loaded, `set` sends them back with the whole
// session and the engine writes the difference (sessile_store_save_diff).
// A network store's calls run on worker threads (lib/offload.js).

const { createHash } = require('node:crypto');
const { EventEmitter } = require('node:events');
const { Engine, generateKey, isValidKey, SessileError, decode, ownerText, MAX_AGE_S } = require('./engine');
const { InlineRunner, ThreadRunner } = require('./offload');
const { asBuffer } = require('./store-ops');
const { packJSON } = require('./json-pack');

let Base = EventEmitter;
try {
  // express-session's Store brings regenerate/load/createSession; without
  // express-session (@fastify/session only) a plain EventEmitter is enough.
  Base = require('express-session').Store;
} catch {
  // optional peer dependency
}

const STORE_OPTIONS = new Set(['path', 'url', 'engine', 'ttl', 'durable', 'snapshotLimit', 'threads']);

/** Worker threads for a network store's calls when `threads` is not given. */
const DEFAULT_THREADS = 4;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** The longest session id accepted from the framework, in characters. */
const MAX_ID_LEN = 256;

/**
 * The storage key of a session id. sessile's own ids (`store.genid`) are
 * storage keys already. Any other id the framework makes (express-session's
 * default uid-safe ids, a custom `genid`, @fastify/session's `idGenerator`)
 * is mapped to one by SHA-256 over a prefix of its own: the same id gives
 * the same key in every process and after a restart, and reaching another
 * session's key would take a preimage of SHA-256 (the ids themselves stay
 * secret, in signed cookies). null: not a string, empty, or longer than
 * MAX_ID_LEN.
 */
function storageKey(sid) {
  if (isValidKey(sid)) return sid;
  if (typeof sid !== 'string' || sid.length === 0 || sid.length > MAX_ID_LEN) return null;
  const digest = createHash('sha256').update('sessile foreign session id\0').update(sid).digest();
  // One character of [a-z0-9] per digest byte: over 5 bits each, some 160
  // in all, as much as a generated key carries give or take (the modulo's
  // slight bias costs a fraction of a bit per character).
  let key = '';
  for (let i = 0; i < 32; i++) key += ALPHABET[digest[i] % 36];
  return key;
}

function defer(cb, err, value) {
  if (typeof cb === 'function') setImmediate(cb, err, value);
}

/** Answers a callback that already runs on a turn of its own. */
function reply(cb, err, value) {
  if (typeof cb === 'function') cb(err, value);
}

/**
 * The session as express-session stores it: the MessagePack bytes of its
 * JSON form (a Date becomes its ISO text, methods and undefined disappear;
 * lib/json-pack.js).
 */
function toStored(sess) {
  let bytes;
  try {
    bytes = packJSON(sess);
  } catch (e) {
    throw new SessileError('INVALID_VALUE', `sessile: the session cannot be stored: ${e.message}`);
  }
  // A map: fixmap, map 16 or map 32.
  const first = bytes === undefined ? -1 : bytes[0];
  if (!((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf)) {
    throw new SessileError('INVALID_VALUE', 'sessile: a session must be an object');
  }
  return bytes;
}

/**
 * Where createSession keeps, on the Session it makes, the bytes its data
 * was loaded from (then the bytes saved): `{ bytes }` under a symbol, not
 * enumerable, so that JSON, express-session's hash and for-in never see
 * it, and changed in place, so that a frozen Session keeps working. A
 * WeakMap from Session to bytes did the same for 0.7 to 0.9 µs more per
 * request, mostly the collector's work on entries whose keys die with
 * each request (docs/BENCHMARKS.md, "express-session stores"); other
 * objects handed to `set` (@fastify/session's) still go there.
 */
const SNAPSHOT = Symbol('sessile.snapshot');

function snapshotOf(sess, bySession) {
  const held = sess[SNAPSHOT];
  return held ? held.bytes : bySession.get(sess);
}

class SessileStore extends Base {
  /**
   * new SessileStore({ path, ttl, durable, ...engineOptions }),
   * new SessileStore({ url: 'redis://127.0.0.1:6379/0' }) for a store that
   * every process (Node cluster) and host shares, or
   * new SessileStore({ engine }) to share an open Engine.
   */
  constructor(options = {}) {
    super();
    if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 0)) {
      throw new SessileError('INVALID_ARGUMENT', 'sessile: `threads` must be a whole number, 0 or more');
    }
    const engineOptions = {};
    for (const [k, v] of Object.entries(options)) if (!STORE_OPTIONS.has(k)) engineOptions[k] = v;
    if (options.engine) {
      // The Engine was opened with its own settings: one given here too
      // (ownerKey, a clock, limits) would be ignored, so it is refused.
      const ignored = Object.keys(engineOptions).filter((k) => engineOptions[k] !== undefined);
      if (ignored.length > 0) {
        throw new SessileError(
          'INVALID_ARGUMENT',
          `sessile: ${ignored.map((k) => `\`${k}\``).join(', ')} cannot be given with \`engine\`: pass it to Engine.open`,
        );
      }
      this.engine = options.engine;
      this._ownsEngine = false;
    } else {
      if (!options.path && !options.url && !options.memory) {
        throw new SessileError('INVALID_ARGUMENT', 'sessile: SessileStore needs a `path` or a `url` (or `memory: true`)');
      }
      this.engine = Engine.open(options.url || options.path, engineOptions);
      this._ownsEngine = true;
    }
    this.ttl = options.ttl === undefined ? 86400 : options.ttl;
    this.durable = Boolean(options.durable);
    this._snapshotLimit = options.snapshotLimit || 10000;
    // The bytes `get` loaded (then the bytes `set` saved), per returned
    // object (moved onto the request's Session by createSession) and per
    // sid (for @fastify/session). The latest load waits in `_loaded` until
    // createSession takes it or the store's next call files it (_file).
    this._loaded = { sid: null, obj: null, raw: null };
    this._byObject = new WeakMap();
    this._bySession = new WeakMap();
    this._bySid = new Map();
    // A network store (Redis) answers from worker threads, off the event
    // loop; an embedded one (sled, memory) on this thread (lib/offload.js).
    const threads = options.threads === undefined ? (this.engine._network ? DEFAULT_THREADS : 0) : options.threads;
    this._runner = threads > 0 ? new ThreadRunner(this.engine, threads) : new InlineRunner(this.engine);
    /** For express-session's `genid` / @fastify/session's `idGenerator`. */
    this.genid = () => generateKey({ library: this.engine.library });
  }

  /**
   * The record's expiry: the cookie's own deadline, to the millisecond (the
   * time the cookie has left, counted from the engine's now, so that an
   * engine on a manual clock agrees), or else the ttl in seconds. null:
   * already expired. Longer than MAX_AGE_S (400 days) is cut to it:
   * browsers keep a cookie no longer (RFC 6265bis), and the engine refuses
   * a longer age, where express-session takes any maxAge.
   */
  _expiry(sess) {
    const cookie = sess && sess.cookie;
    let ms;
    if (cookie && cookie.expires) ms = new Date(cookie.expires).getTime() - Date.now();
    else if (cookie && typeof cookie.maxAge === 'number') ms = cookie.maxAge;
    if (ms === undefined || Number.isNaN(ms)) {
      const seconds = typeof this.ttl === 'function' ? this.ttl(sess) : this.ttl;
      return seconds <= 0 ? null : Math.min(seconds, MAX_AGE_S);
    }
    if (ms <= 0) return null;
    return new Date(this.engine.now() + Math.min(Math.ceil(ms), MAX_AGE_S * 1000));
  }

  /**
   * Files the latest load's bytes by object and by id, unless
   * createSession took them. express-session calls createSession in get's
   * callback, so its loads never reach the maps: filing each one cost 0.5
   * to 1.3 µs per request (docs/BENCHMARKS.md, "express-session stores").
   * @fastify/session saves an object of its own, found by id. Every call
   * that reads or changes the maps files first, so they hold what they
   * would had each load been filed at once (but for one corner: a second
   * createSession from the same loaded object gets no snapshot, and its
   * Session's save is a whole one).
   */
  _file() {
    const { sid, obj, raw } = this._loaded;
    if (obj === null) return;
    this._loaded.sid = this._loaded.obj = this._loaded.raw = null;
    this._byObject.set(obj, raw);
    this._bySid.delete(sid);
    this._bySid.set(sid, raw);
    if (this._bySid.size > this._snapshotLimit) this._bySid.delete(this._bySid.keys().next().value);
  }

  /**
   * Runs an engine operation (lib/store-ops.js) through this store's runner
   * and answers `cb` on a later turn of the event loop; `after(value)`
   * updates the store's own state once the operation succeeded.
   */
  _op(cb, op, args, after) {
    this._runner.run(op, args, (err, value) => {
      if (err) return reply(cb, err);
      let result = value;
      try {
        if (after) result = after(value);
      } catch (e) {
        return reply(cb, e);
      }
      reply(cb, null, result);
    });
  }

  get(sid, cb) {
    const key = storageKey(sid);
    if (!key) return defer(cb, null, null);
    this._op(cb, 'load', [key], (raw) => {
      this._file();
      if (!raw) {
        this._bySid.delete(sid);
        return null;
      }
      const bytes = asBuffer(raw);
      const result = decode(bytes);
      this._loaded.sid = sid;
      this._loaded.obj = result;
      this._loaded.raw = bytes;
      return result;
    });
  }

  createSession(req, sess) {
    let raw;
    if (sess !== null && this._loaded.obj === sess) {
      raw = this._loaded.raw;
      this._loaded.sid = this._loaded.obj = this._loaded.raw = null;
    } else {
      raw = this._byObject.get(sess);
    }
    const session = super.createSession(req, sess);
    if (raw) Object.defineProperty(session, SNAPSHOT, { value: { bytes: raw } });
    return session;
  }

  set(sid, sess, cb) {
    let key, expiry, bytes, base;
    this._file();
    try {
      key = storageKey(sid);
      if (!key) {
        throw new SessileError(
          'INVALID_KEY',
          `sessile: session id ${JSON.stringify(String(sid)).slice(0, 60)} is not usable: ` +
            `a session id is a non-empty string of at most ${MAX_ID_LEN} characters`
        );
      }
      bytes = toStored(sess);
      expiry = this._expiry(sess);
      if (expiry !== null) {
        base = (sess && typeof sess === 'object' && snapshotOf(sess, this._bySession)) || this._bySid.get(sid);
      }
    } catch (e) {
      return defer(cb, e);
    }
    if (expiry === null) return this._op(cb, 'delete', [key]);
    const options = { expiry, durable: this.durable };
    const remember = () => {
      if (!sess || typeof sess !== 'object') return;
      const held = sess[SNAPSHOT];
      if (held) held.bytes = bytes;
      else this._bySession.set(sess, bytes);
    };
    if (!base) this._op(cb, 'save', [key, bytes, options], remember);
    // No upsert: a session deleted (logout elsewhere) or expired while
    // this request ran is not brought back (SESSION_DELETED).
    else this._op(cb, 'saveDiff', [key, base, bytes, options], remember);
  }

  touch(sid, sess, cb) {
    let key, expiry;
    try {
      key = storageKey(sid);
      if (key) expiry = this._expiry(sess);
    } catch (e) {
      return defer(cb, e);
    }
    if (!key) return defer(cb, null);
    if (expiry === null) this._op(cb, 'delete', [key]);
    else this._op(cb, 'touch', [key, expiry]);
  }

  destroy(sid, cb) {
    this._file();
    this._bySid.delete(sid);
    const key = storageKey(sid);
    if (!key) return defer(cb, null);
    this._op(cb, 'delete', [key]);
  }

  all(cb) {
    this._op(cb, 'all', []);
  }

  ids(cb) {
    this._op(cb, 'ids', []);
  }

  length(cb) {
    this._op(cb, 'count', []);
  }

  clear(cb) {
    this._op(cb, 'clear', [], () => {
      this._file();
      this._bySid.clear();
    });
  }

  /**
   * The storage key of the session id `sid` (what `all()` and `sessionsOf`
   * list as `sid`): the id itself when the store made it (`genid:
   * store.genid`), else its SHA-256 mapping; null for an id the store
   * refuses. `s.sid === store.storageKey(req.sessionID)` marks the
   * request's own session in a listing.
   */
  storageKey(sid) {
    return storageKey(sid);
  }

  /**
   * The live sessions of `owner` (a string or an integer; 42 and "42" are
   * one owner), found under the `ownerKey` option: an array of
   * { sid, session, expires }, the one that expires last first. `sid` is
   * the storage key, as `all()` lists it (`storageKey`).
   */
  sessionsOf(owner, cb) {
    let o;
    try {
      o = ownerText(owner);
    } catch (e) {
      return defer(cb, e);
    }
    this._op(cb, 'sessionsOf', [o]);
  }

  /**
   * "Log out everywhere": ends every live session of `owner` but the one
   * whose id is `except` (the request's own `req.sessionID`; null or
   * undefined ends them all). Answers the number ended. A request still
   * holding an ended session cannot save it back (SESSION_DELETED).
   */
  destroyAllFor(owner, except, cb) {
    if (typeof except === 'function' && cb === undefined) {
      cb = except;
      except = null;
    }
    let o, keep = null;
    try {
      o = ownerText(owner);
      if (except != null) {
        keep = storageKey(except);
        if (!keep) throw new SessileError('INVALID_KEY', `sessile: the session id to keep is not usable: ${JSON.stringify(String(except)).slice(0, 60)}`);
      }
    } catch (e) {
      return defer(cb, e);
    }
    this._op(cb, 'endSessionsOf', [o, keep]);
  }

  /** Stops the sweeper and closes the database (when the store opened it). */
  close() {
    this._runner.close();
    if (this._ownsEngine) this.engine.close();
  }
}

module.exports = { SessileStore, storageKey, MAX_ID_LEN };
