'use strict';
// sessile for Node: the engine (store and session levels) and an
// express-session / @fastify/session store. See README.md and index.d.ts.

const { Engine, Session, generateKey, isValidKey, version, EXPIRY, MAX_AGE_S, SessileError } = require('./lib/engine');
const { SessileStore } = require('./lib/store');
const { ABI_VERSION, RESULT, candidates } = require('./lib/native');

module.exports = {
  Engine,
  Session,
  SessileStore,
  SessileError,
  generateKey,
  isValidKey,
  version,
  EXPIRY,
  MAX_AGE_S,
  RESULT,
  ABI_VERSION,
  libraryCandidates: candidates,
};
