'use strict';
// The C ABI through koffi: finding the library, checking its ABI version,
// declaring the functions, and turning result codes into SessileError.
// Everything here is synchronous: each call is microseconds of work.

const fs = require('node:fs');
const koffi = require('koffi');
const { candidates, notFoundMessage } = require('./locate');

/** The ABI this package was written for (SESSILE_ABI_VERSION in sessile.h). */
const ABI_VERSION = 1;

/** Result codes (docs/ABI.md); numbers never change. */
const RESULT = Object.freeze({
  OK: 0,
  NULL_ARGUMENT: 1,
  INVALID_ARGUMENT: 2,
  INVALID_UTF8: 3,
  INVALID_KEY: 4,
  INVALID_DATA: 5,
  TOO_LARGE: 6,
  NOT_FOUND: 7,
  SESSION_DELETED: 8,
  WRONG_TYPE: 9,
  CLOSED: 10,
  LOCKED: 11,
  IO: 12,
  CORRUPT: 13,
  KEY_COLLISION: 14,
  PANIC: 15,
  FORKED: 16,
  UNAVAILABLE: 17,
  NOT_A_DATABASE: 18,
});
const RESULT_NAME = Object.fromEntries(Object.entries(RESULT).map(([k, v]) => [v, k]));

/** An error from sessile: `code` is the result name ('TOO_LARGE', ...). */
class SessileError extends Error {
  constructor(code, message, result) {
    super(message);
    this.name = 'SessileError';
    this.code = code;
    if (result !== undefined) this.result = result;
  }
}

const loaded = new Map();

/** Loads (once per file) and checks the library; returns its bound functions. */
function load(explicit) {
  const tried = candidates(explicit);
  const found = tried.find((c) => fs.existsSync(c.file));
  if (!found) {
    throw new SessileError('LIBRARY_NOT_FOUND', notFoundMessage(tried));
  }
  if (loaded.has(found.file)) return loaded.get(found.file);
  let lib;
  try {
    lib = koffi.load(found.file);
  } catch (e) {
    throw new SessileError('LIBRARY_LOAD_FAILED', `sessile: cannot load ${found.file}: ${e.message}`);
  }
  let abi;
  try {
    abi = lib.func('uint32_t sessile_abi_version(void)')();
  } catch (e) {
    throw new SessileError(
      'ABI_MISMATCH',
      `sessile: ${found.file} has no sessile_abi_version(): it is not a sessile library (${e.message})`
    );
  }
  if (abi !== ABI_VERSION) {
    throw new SessileError(
      'ABI_MISMATCH',
      `sessile: ${found.file} speaks C ABI version ${abi}, but this package needs version ` +
        `${ABI_VERSION}. Rebuild the library from the same sessile checkout as this package.`
    );
  }
  const api = bind(lib, found.file);
  loaded.set(found.file, api);
  return api;
}

// Opaque handles and the by-value expiry struct. Names are prefixed so that
// a second package using koffi cannot clash with them.
let types;
function declareTypes() {
  if (types) return types;
  types = {
    engine: koffi.opaque(),
    session: koffi.opaque(),
    options: koffi.opaque(),
    buf: koffi.opaque(),
    expiry: koffi.struct({ kind: 'uint32_t', value: 'int64_t' }),
  };
  return types;
}

function bind(lib, file) {
  const t = declareTypes();
  const E = koffi.pointer(t.engine);
  const S = koffi.pointer(t.session);
  const O = koffi.pointer(t.options);
  const B = koffi.pointer(t.buf);
  const outE = koffi.out(koffi.pointer(E));
  const outS = koffi.out(koffi.pointer(S));
  const outO = koffi.out(koffi.pointer(O));
  const outB = koffi.out(koffi.pointer(B));
  const bytes = 'const uint8_t *';
  const r = 'uint32_t';
  const f = (name, ret, args) => {
    try {
      return lib.func(name, ret, args);
    } catch (e) {
      throw new SessileError(
        'ABI_MISMATCH',
        `sessile: ${file} lacks ${name}(): the library is older than this package. ` +
          'Rebuild it (`cargo build --release --lib`).'
      );
    }
  };
  const fn = {
    version: f('sessile_version', 'const char *', []),
    result_name: f('sessile_result_name', 'const char *', ['uint32_t']),
    last_error_message: f('sessile_last_error_message', 'size_t', [koffi.out('uint8_t *'), 'size_t']),
    buf_data: f('sessile_buf_data', 'void *', [B]),
    buf_len: f('sessile_buf_len', 'size_t', [B]),
    buf_free: f('sessile_buf_free', 'void', [B]),
    options_new: f('sessile_options_new', r, [outO]),
    options_free: f('sessile_options_free', 'void', [O]),
    engine_open: f('sessile_engine_open', r, [bytes, 'size_t', O, outE]),
    engine_close: f('sessile_engine_close', r, [E]),
    engine_free: f('sessile_engine_free', 'void', [E]),
    engine_flush: f('sessile_engine_flush', r, [E]),
    engine_clear_expired: f('sessile_engine_clear_expired', r, [E, koffi.out('uint64_t *')]),
    engine_now: f('sessile_engine_now', r, [E, koffi.out('int64_t *')]),
    engine_advance_clock: f('sessile_engine_advance_clock', r, [E, 'int64_t']),
    engine_set_clock: f('sessile_engine_set_clock', r, [E, 'int64_t']),
    key_generate: f('sessile_key_generate', r, [outB]),
    key_validate: f('sessile_key_validate', r, [bytes, 'size_t']),
    store_load: f('sessile_store_load', r, [E, bytes, 'size_t', outB, koffi.out(koffi.pointer(t.expiry)), koffi.out('int64_t *')]),
    // The hot path's outputs are typed arrays the caller keeps (Engine#loadRaw),
    // written in place: an out-parameter array costs koffi a reference and a
    // copy back per call (0.76 µs against 0.17 µs for a C function that does
    // nothing; docs/BENCHMARKS.md, "express-session stores").
    store_load_copy: f('sessile_store_load_copy', r, [E, bytes, 'size_t', 'uint8_t *', 'size_t', 'size_t *', 'int64_t *']),
    store_save_diff: f('sessile_store_save_diff', r, [E, bytes, 'size_t', bytes, 'size_t', bytes, 'size_t', t.expiry, 'uint32_t']),
    store_exists: f('sessile_store_exists', r, [E, bytes, 'size_t', koffi.out('bool *')]),
    store_create: f('sessile_store_create', r, [E, bytes, 'size_t', t.expiry, 'uint32_t', outB]),
    store_save: f('sessile_store_save', r, [E, bytes, 'size_t', bytes, 'size_t', t.expiry, 'uint32_t']),
    store_save_delta: f('sessile_store_save_delta', r, [E, bytes, 'size_t', bytes, 'size_t', bytes, 'size_t', t.expiry, 'uint32_t']),
    store_touch: f('sessile_store_touch', r, [E, bytes, 'size_t', t.expiry]),
    store_delete: f('sessile_store_delete', r, [E, bytes, 'size_t']),
    store_scan: f('sessile_store_scan', r, [E, bytes, 'size_t', 'size_t', outB, outB]),
    store_count: f('sessile_store_count', r, [E, koffi.out('uint64_t *')]),
    store_delete_all: f('sessile_store_delete_all', r, [E, koffi.out('uint64_t *')]),
    store_sessions_of: f('sessile_store_sessions_of', r, [E, bytes, 'size_t', outB]),
    store_end_sessions_of: f('sessile_store_end_sessions_of', r, [E, bytes, 'size_t', bytes, 'size_t', koffi.out('uint64_t *')]),
    session_new: f('sessile_session_new', r, [E, outS]),
    session_open: f('sessile_session_open', r, [E, bytes, 'size_t', outS]),
    session_close: f('sessile_session_close', r, [S]),
    session_free: f('sessile_session_free', 'void', [S]),
    session_key: f('sessile_session_key', r, [S, outB]),
    session_get: f('sessile_session_get', r, [S, bytes, 'size_t', outB]),
    session_set: f('sessile_session_set', r, [S, bytes, 'size_t', bytes, 'size_t']),
    session_remove: f('sessile_session_remove', r, [S, bytes, 'size_t']),
    session_contains: f('sessile_session_contains', r, [S, bytes, 'size_t', koffi.out('bool *')]),
    session_len: f('sessile_session_len', r, [S, koffi.out('size_t *')]),
    session_keys: f('sessile_session_keys', r, [S, outB]),
    session_data: f('sessile_session_data', r, [S, outB]),
    session_clear: f('sessile_session_clear', r, [S]),
    session_flush: f('sessile_session_flush', r, [S]),
    session_cycle_key: f('sessile_session_cycle_key', r, [S]),
    session_save: f('sessile_session_save', r, [S, 'uint32_t']),
    session_delete: f('sessile_session_delete', r, [S]),
    session_set_expiry: f('sessile_session_set_expiry', r, [S, t.expiry]),
    session_get_expiry: f('sessile_session_get_expiry', r, [S, koffi.out(koffi.pointer(t.expiry))]),
    session_get_expiry_age: f('sessile_session_get_expiry_age', r, [S, koffi.out('int64_t *')]),
    session_get_expiry_date: f('sessile_session_get_expiry_date', r, [S, koffi.out('int64_t *')]),
    session_modified: f('sessile_session_modified', r, [S, koffi.out('bool *')]),
    session_accessed: f('sessile_session_accessed', r, [S, koffi.out('bool *')]),
    request_begin: f('sessile_request_begin', r, [E, bytes, 'size_t', outS]),
    request_end: f('sessile_request_end', r, [S, 'uint32_t', outB, koffi.out('uint32_t *')]),
  };
  const options = {};
  for (const [name, type] of [
    ['cookie_name', [bytes, 'size_t']],
    ['cookie_age', ['int64_t']],
    ['cookie_domain', [bytes, 'size_t']],
    ['cookie_path', [bytes, 'size_t']],
    ['cookie_secure', ['bool']],
    ['cookie_httponly', ['bool']],
    ['cookie_samesite', ['uint32_t']],
    ['save_every_request', ['bool']],
    ['expire_at_browser_close', ['bool']],
    ['cache_capacity', ['uint64_t']],
    ['flush_every_ms', ['uint64_t']],
    ['compression', ['bool']],
    ['max_data_key_len', ['size_t']],
    ['max_value_size', ['size_t']],
    ['max_record_size', ['size_t']],
    ['max_keys', ['size_t']],
    ['reaper_interval_ms', ['uint64_t']],
    ['reaper_budget', ['size_t']],
    ['memory', ['bool']],
    ['manual_clock', ['int64_t']],
    ['owner_key', [bytes, 'size_t']],
  ]) {
    options[name] = f(`sessile_options_set_${name}`, r, [O, ...type]);
  }
  fn.options = options;
  fn.file = file;
  return fn;
}

/** Throws a SessileError for a non-zero result, with the thread's message. */
function check(api, rc, what) {
  if (rc === RESULT.OK) return;
  const n = api.last_error_message(null, 0);
  let msg = '';
  if (n > 0) {
    const buf = Buffer.alloc(n + 1);
    api.last_error_message(buf, buf.length);
    msg = buf.subarray(0, n).toString('utf8');
  }
  const code = RESULT_NAME[rc] || 'UNKNOWN';
  throw new SessileError(code, `sessile: ${what}: ${msg || code}`, rc);
}

/** Copies a sessile_buf into a Buffer and frees it. NULL gives null. */
function take(api, buf) {
  if (buf === null || buf === undefined) return null;
  try {
    const len = Number(api.buf_len(buf));
    if (len === 0) return Buffer.alloc(0);
    const view = koffi.view(api.buf_data(buf), len);
    return Buffer.from(new Uint8Array(view)); // a copy: the view dies with the buffer
  } finally {
    api.buf_free(buf);
  }
}

module.exports = { load, check, take, ABI_VERSION, RESULT, SessileError, candidates };
