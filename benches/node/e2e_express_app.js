#!/usr/bin/env node
'use strict';
// The express app that benches/node/e2e_express.js serves, one process per
// store, apart from the load generator:
//
//   node e2e_express_app.js --store sessile|memory|redis|floor --port N
//        --dir DIR [--redis-url URL]
//
// express-session as the bindings' README configures it (resave: false,
// saveUninitialized: false, cookie maxAge one day) over SessileStore (sled
// in DIR, default settings, not durable), express-session's MemoryStore, or
// connect-redis on node-redis (URL). `floor` is the same app without the
// session middleware: what express and Node's HTTP server cost per request
// on their own.
//
// Routes:
//   GET /login?n=N  a new session holding a logged-in visitor's data
//                   (benchlib.sessionData) and count = 0; the driver makes
//                   its pool of sessions through it before timing;
//   GET /           reads the session, increments count, answers it; a
//                   session that did not load answers 500.
// Prints `listening` once it accepts connections; stops on SIGTERM.

const path = require('node:path');

const express = require('express');
const session = require('express-session');
const { parseArgs, sessionData } = require('./benchlib');

const USAGE = 'usage: node e2e_express_app.js --store sessile|memory|redis|floor --port N --dir DIR [--redis-url URL]';

async function openStore(opts) {
  switch (opts.store) {
    case 'sessile': {
      const { SessileStore } = require('../../bindings/node');
      const store = new SessileStore({ path: path.join(opts.dir, 'sessions.db') });
      return { store, close: async () => store.close() };
    }
    case 'memory':
      return { store: new session.MemoryStore(), close: async () => {} };
    case 'redis': {
      const { createClient } = require('redis');
      const { RedisStore } = require('connect-redis');
      const client = createClient({ url: opts.redisUrl });
      client.on('error', (e) => console.error(`e2e_express_app: redis: ${e.message}`));
      await client.connect();
      return { store: new RedisStore({ client, prefix: 'sess:' }), close: async () => client.quit() };
    }
    default:
      console.error(USAGE);
      process.exit(2);
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2), { store: '', port: 0, dir: '', redisUrl: '' }, USAGE);
  const app = express();
  let close = async () => {};
  if (opts.store === 'floor') {
    let served = 0;
    app.get('/', (req, res) => {
      served += 1;
      res.send(String(served));
    });
  } else {
    const opened = await openStore(opts);
    close = opened.close;
    app.use(session({
      store: opened.store,
      secret: 'e2e bench',
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 86400000 },
    }));
    app.get('/login', (req, res) => {
      Object.assign(req.session, sessionData(Number(req.query.n) || 0));
      req.session.count = 0;
      res.send('ok');
    });
    app.get('/', (req, res) => {
      const s = req.session;
      if (!s.user || !s.csrfSecret) {
        res.status(500).send('no session');
        return;
      }
      s.count += 1;
      res.send(String(s.count));
    });
  }
  const server = app.listen(opts.port, '127.0.0.1', () => console.log('listening'));
  // autocannon keeps its connections; between rounds they wait idle.
  server.keepAliveTimeout = 300000;
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    close().finally(() => process.exit(0));
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
