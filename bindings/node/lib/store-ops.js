'use strict';
// SessileStore's calls into the engine, one function per operation, each
// a plain function of an Engine and structured-cloneable arguments. The
// store runs them on the main thread (sled, memory) or hands them to a
// worker thread (Redis, lib/offload.js); either way the same code runs.

/** Bytes that crossed a thread arrive as a Uint8Array; the engine wants a Buffer. */
function asBuffer(u) {
  if (u == null || Buffer.isBuffer(u)) return u;
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

const OPS = {
  /** The stored bytes of a live session, or null. */
  load(engine, key) {
    return engine.loadRaw(key);
  },
  /** Writes the whole session (its bytes), creating it when missing. */
  save(engine, key, bytes, options) {
    engine.save(key, asBuffer(bytes), { ...options, upsert: true });
  },
  /** Writes what changed from `base` (no upsert: a deleted session stays deleted). */
  saveDiff(engine, key, base, bytes, options) {
    engine.saveDiff(key, asBuffer(base), asBuffer(bytes), options);
  },
  touch(engine, key, expiry) {
    engine.touch(key, expiry);
  },
  delete(engine, key) {
    engine.delete(key);
  },
  all(engine) {
    const out = [];
    for (const s of engine.sessions()) out.push({ ...s.data, id: s.key });
    return out;
  },
  ids(engine) {
    const out = [];
    for (const s of engine.sessions()) out.push(s.key);
    return out;
  },
  count(engine) {
    return engine.count();
  },
  clear(engine) {
    engine.deleteAll();
  },
  /** The owner's sessions, the one that expires last first. */
  sessionsOf(engine, owner) {
    return engine.sessionsOf(owner).map((s) => ({ sid: s.key, session: s.data, expires: new Date(s.expiresAt) }));
  },
  endSessionsOf(engine, owner, except) {
    return engine.endSessionsOf(owner, except);
  },
};

module.exports = { OPS, asBuffer };
