'use strict';
// Shared by the suites: a temporary database, a server on 127.0.0.1 on an
// ephemeral port, and an HTTP client that keeps cookies like a browser.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn } = require('node:child_process');

/**
 * A fresh directory for a database, removed when the process exits: after
 * every test's own hooks, since closing a database whose directory is
 * already gone fails with IO (t.after hooks run in the order they were
 * added, and the directory is made before the store that will close).
 */
const tempDirs = [];
process.on('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});
function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sessile-node-'));
  tempDirs.push(dir);
  return path.join(dir, 'sessions');
}

/** Starts an http.Server-producing app on 127.0.0.1:0; closed after the test. */
async function listenExpress(t, app) {
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return `http://127.0.0.1:${server.address().port}`;
}

async function listenFastify(t, app) {
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  return `http://127.0.0.1:${app.server.address().port}`;
}

/** A client with a cookie jar (name → value). */
function browser(base) {
  const jar = new Map();
  const client = {
    jar,
    async request(pathname, init = {}) {
      const headers = { ...(init.headers || {}) };
      if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(base + pathname, { ...init, headers, redirect: 'manual' });
      for (const line of res.headers.getSetCookie()) {
        const [pair, ...attrs] = line.split(';');
        const i = pair.indexOf('=');
        const name = pair.slice(0, i).trim();
        const value = pair.slice(i + 1).trim();
        const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a));
        if (expired || value === '') jar.delete(name);
        else jar.set(name, value);
      }
      const text = await res.text();
      let body = text;
      try { body = JSON.parse(text); } catch { /* plain text */ }
      return { status: res.status, body, headers: res.headers };
    },
    get(p) { return client.request(p); },
    post(p, json) {
      return client.request(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json || {}) });
    },
  };
  return client;
}

/** The signed express-session cookie value → the session id. */
function sidOf(cookieValue) {
  const v = decodeURIComponent(cookieValue);
  return v.startsWith('s:') ? v.slice(2, v.lastIndexOf('.')) : v.slice(0, v.lastIndexOf('.'));
}

const promisify = (store, method, ...args) =>
  new Promise((resolve, reject) => store[method](...args, (err, v) => (err ? reject(err) : resolve(v))));

/** A port nobody listens on right now (the OS picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Resolves once a PING on `port` is answered, rejects after `tries` refusals. */
async function redisReady(port, tries = 200) {
  for (let i = 0; i < tries; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('connect', () => c.write('PING\r\n'));
      c.on('data', (d) => { c.destroy(); resolve(d.toString().startsWith('+PONG')); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server on port ${port} did not answer PING`);
}

/**
 * A redis-server of this test's own (one the test may SIGSTOP without
 * disturbing the other suites' server), on 127.0.0.1, persistence off,
 * killed after the test: { url, process }.
 */
async function ownRedis(t) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' });
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    t.after(async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGCONT');
        proc.kill('SIGKILL');
        await exited;
      }
    });
    try {
      await Promise.race([redisReady(port), exited.then(() => { throw new Error('redis-server exited'); })]);
      return { url: `redis://127.0.0.1:${port}/0`, process: proc };
    } catch (e) {
      // Lost the port to someone else between freePort and the bind: try another.
      if (attempt >= 3) throw e;
      proc.kill('SIGKILL');
    }
  }
}

module.exports = { ownRedis, tempDir, listenExpress, listenFastify, browser, sidOf, promisify };
