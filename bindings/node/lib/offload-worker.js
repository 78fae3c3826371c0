'use strict';
// A worker thread of lib/offload.js: runs store operations (lib/store-ops.js)
// with the main thread's engine handle, synchronously, one at a time.
//
// Why a worker thread and not koffi's `fn.async`: sessile keeps the last
// error message per OS thread (sessile_last_error_message). koffi's async
// calls run on a pool of threads, and the message would have to be fetched
// by a second call that may land on another thread, giving another call's
// message. Here the failing call and `check()`'s message fetch run on this
// one thread, back to back, so every error carries its own code and text.

const { parentPort, workerData } = require('node:worker_threads');
const native = require('./native');
const { Engine } = require('./engine');
const { OPS } = require('./store-ops');

const api = native.load(workerData.library);
// The handle stays owned by the main thread, which frees it only after
// every call it lent out has answered (Engine#_lend/_return).
const engine = Engine.borrow(api, workerData.handle);

parentPort.on('message', ({ id, op, args }) => {
  let reply;
  try {
    reply = { id, value: OPS[op](engine, ...args) };
  } catch (e) {
    reply = { id, error: { name: e.name, code: e.code, message: e.message, result: e.result } };
  }
  parentPort.postMessage(reply);
});
