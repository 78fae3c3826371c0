// README, "express in three lines", as a TypeScript app writes it.
import express from 'express';
import session from 'express-session';
import { SessileStore } from 'sessile';

const app = express();
const store = new SessileStore({ path: './sessions.db' });
app.use(session({ store, secret: 'change me', resave: false, saveUninitialized: false }));

// README, "Redis off the event loop" (threads: the default, spelled out).
const shared = new SessileStore({ url: 'redis://127.0.0.1:6379/0', threads: 4 });
shared.length((err, n) => { if (!err && n !== undefined) n.toFixed(0); });

// The store is an express-session Store wherever one is expected.
const asStore: session.Store = store;
asStore.get('x', (err, sess) => { if (!err && sess) sess.cookie.maxAge; });
