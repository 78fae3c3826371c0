// README, "express in three lines", as a TypeScript app writes it.
import express from 'express';
import session from 'express-session';
import { SessileStore } from 'sessile';

const app = express();
const store = new SessileStore({ path: './sessions.db' });
app.use(session({ store, genid: store.genid, secret: 'change me', resave: false, saveUninitialized: false }));

// The store is an express-session Store wherever one is expected.
const asStore: session.Store = store;
asStore.get('x', (err, sess) => { if (!err && sess) sess.cookie.maxAge; });
