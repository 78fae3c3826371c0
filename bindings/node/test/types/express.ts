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

// README, "Log out everywhere" (passport's session field, declared as a
// TypeScript app with passport declares it).
declare module 'express-session' {
  interface SessionData { passport: { user: number } }
}
const owned = new SessileStore({ path: './sessions.db', ownerKey: 'passport.user' });
app.post('/sign-out-others', (req, res, next) =>
  owned.destroyAllFor(req.session.passport!.user, req.sessionID, (err, ended) => (err ? next(err) : res.json({ ended }))));
owned.sessionsOf(42, (err, list) => { if (!err && list) for (const s of list) console.log(s.sid, s.expires.getTime(), s.session.cookie); });
owned.destroyAllFor('42', (err, ended) => { if (!err && ended !== undefined) ended.toFixed(0); });
