'use strict';
// A small express app on sessile: login, a per-visitor counter, logout.
//   cargo build --release --lib && cd bindings/node && npm ci
//   node examples/express-app.js   # then open http://127.0.0.1:3000/
// From an installed package: npm install express express-session, then
//   node node_modules/sessile/examples/express-app.js
const express = require('express');
const session = require('express-session');
const { SessileStore } = require('..'); // require('sessile') once installed

const store = new SessileStore({ path: process.env.SESSILE_DB || './sessile-express.db' });
const app = express();
app.use(session({ store, genid: store.genid, secret: process.env.SESSION_SECRET || 'change me',
  resave: false, saveUninitialized: false, cookie: { maxAge: 24 * 3600 * 1000 } }));

app.get('/', (req, res) => {
  req.session.visits = (req.session.visits || 0) + 1;
  res.type('text').send(`hello ${req.session.user || 'stranger'}, visit ${req.session.visits}\n` +
    'GET /login?user=NAME, GET /logout\n');
});
app.get('/login', (req, res, next) => req.session.regenerate((err) => {
  if (err) return next(err);
  req.session.user = String(req.query.user || 'anonymous');
  res.redirect('/');
}));
app.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.redirect('/'))));

const port = Number(process.env.PORT || 3000);
const server = app.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}/`));
process.on('SIGINT', () => server.close(() => { store.close(); process.exit(0); }));
