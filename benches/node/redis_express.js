#!/usr/bin/env node
'use strict';
// sessile's Redis store against connect-redis, side by side on one local
// redis-server: round trips, commands and time per request, and Redis memory
// per session.
//
// The two stores, each under the real express-session middleware
// (resave: false, saveUninitialized: false, cookie maxAge one day, as the
// bindings' README configures it), called with a minimal request and
// response object (no HTTP, no express):
//   - SessileStore({ url: 'redis://…' }): sessile's Redis store
//     (src/store/redis.rs) through the C ABI and koffi;
//   - connect-redis with the node-redis client (both pinned in package.json).
//
// Request kinds, each one pass through the middleware:
//   read     the cookie names an existing session; the handler reads it and
//            changes nothing (express-session then calls store.touch);
//   changed  the same, and the handler sets one key (get, modify, set);
//   new      no cookie; the handler stores a logged-in user's data, the
//            middleware saves the new session and sets the cookie.
//
// Round trips are counted, not inferred: a counting pass sends a few hundred
// requests of each kind through a TCP proxy (a worker thread here, since
// SessileStore's calls block the main thread while Redis answers) that
// counts, on every client connection, each burst of client bytes that
// follows a server reply: a pipeline written at once (MULTI; SET; EXEC) is
// one round trip. The same pass reads INFO commandstats before and after.
// The timed pass talks to redis-server directly, in interleaved rounds (a
// batch of each store for each kind per round, the order shuffled), so a
// noisy neighbour slows both alike. INFO around each timed batch gives the
// server's time per request: executing its commands, and all of
// redis-server's CPU.
//
// Memory: --memory-sessions (default 100000) sessions created through each
// store into an emptied redis-server, used_memory after minus before, per
// session; on the plain server and on a second one started with
// --cluster-enabled yes that owns all 16384 slots.
//
// Every redis-server is started here on a free 127.0.0.1 port, persistence
// off, and stopped at the end.
//
//   make bench-redis          (installs what it needs; runs the Python side too)
//   node benches/node/redis_express.js [--sessions N] [--rounds N] [--batch N]
//        [--count-requests N] [--memory-sessions N] [--out DIR]
//
// Writes redis_express.json and redis_express.svg to DIR (benches/results).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const session = require('express-session');
const { RedisStore } = require('connect-redis');
const { SessileStore } = require('../../bindings/node');
const {
  RESULTS,
  connectClient,
  escapeXml,
  gitCommit,
  machine,
  median,
  parseArgs,
  percentile,
  prng,
  sessionData,
  startRedis,
  versions,
  writeResults,
} = require('./benchlib');

const SESSILE = 'SessileStore (Redis)';
const CONNECT_REDIS = 'connect-redis';
const KINDS = ['read', 'changed', 'new'];
const KIND_TEXT = {
  read: 'read-only: get, read, touch',
  changed: 'changed: get, set 1 key, save',
  new: 'new: save ~250 B, set cookie',
};

const DEFAULTS = {
  sessions: 10000,
  rounds: 12,
  batch: 1500,
  warmup: 500,
  countRequests: 500,
  memorySessions: 100000,
  seed: 22,
  out: RESULTS,
  redisServer: process.env.REDIS_SERVER || 'redis-server',
};
const USAGE = 'usage: node redis_express.js [--sessions N] [--rounds N] [--batch N] [--warmup N] ' +
  '[--count-requests N] [--memory-sessions N] [--seed N] [--out DIR]';

// ---------------------------------------------------------------------------
// The round-trip counter

// The proxy runs in a worker thread: SessileStore's calls block this thread
// until Redis answers, so a proxy on this event loop would never answer.
// On each connection a burst of client bytes that follows a server reply
// starts a round trip; each direction notes its bytes before forwarding
// them, so a reply is always noted before the client can send again.
const PROXY_SOURCE = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const counts = new Float64Array(workerData.shared); // round trips, bytes up, bytes down
const server = net.createServer((client) => {
  const upstream = net.connect(workerData.upstreamPort, '127.0.0.1');
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  let last = 'server';
  client.on('data', (d) => {
    if (last !== 'client') { counts[0] += 1; last = 'client'; }
    counts[1] += d.length;
    upstream.write(d);
  });
  upstream.on('data', (d) => { last = 'server'; counts[2] += d.length; client.write(d); });
  const close = () => { client.destroy(); upstream.destroy(); };
  client.on('close', close); upstream.on('close', close);
  client.on('error', close); upstream.on('error', close);
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', (m) => { if (m === 'stop') { server.close(); process.exit(0); } });
`;

async function startCounter(upstreamPort) {
  const shared = new SharedArrayBuffer(3 * 8);
  const worker = new Worker(PROXY_SOURCE, { eval: true, workerData: { upstreamPort, shared } });
  const port = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const counts = new Float64Array(shared);
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    // Plain reads of a Float64Array the worker writes: taken only while no
    // request is in flight, after the worker forwarded the last reply.
    snapshot: () => Array.from(counts),
    async stop() {
      worker.postMessage('stop');
      await new Promise((r) => worker.once('exit', r));
    },
  };
}

/**
 * From INFO: calls per command and the µs spent executing them
 * (commandstats, without INFO itself), and the server's CPU seconds
 * (used_cpu_user + used_cpu_sys: parsing and socket I/O too).
 */
async function serverCounters(client) {
  const text = await client.info('commandstats');
  const cpu = await client.info('cpu');
  const calls = {};
  let usec = 0;
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    calls[m[1]] = Number(m[2]);
    usec += Number(m[3]);
  }
  const seconds = (name) => Number(cpu.match(new RegExp(`^${name}:([0-9.]+)`, 'm'))[1]);
  return { calls, usec, cpu: seconds('used_cpu_user') + seconds('used_cpu_sys') };
}

// ---------------------------------------------------------------------------
// express-session, called as express would, without HTTP

class Response {
  constructor(done) {
    this.headers = {};
    this._header = null;
    this.statusCode = 200;
    this.done = done;
  }
  getHeader(name) {
    return this.headers[name.toLowerCase()];
  }
  setHeader(name, value) {
    this.headers[name.toLowerCase()] = value;
  }
  writeHead(status) {
    this.statusCode = status;
    this._header = true;
    return this;
  }
  _implicitHeader() {
    this.writeHead(this.statusCode);
  }
  write() {
    return true;
  }
  end() {
    this.done();
  }
}

function makeEngine(label, store) {
  const middleware = session({
    store,
    secret: 'redis bench secret',
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 86400000 },
  });
  return { label, store, middleware, cookies: [], samples: {}, rounds: {}, wallNs: {}, serverUsec: {}, serverCpu: {} };
}

function oneRequest(engine, kind, cookie, n) {
  return new Promise((resolve, reject) => {
    const req = { method: 'GET', url: '/', originalUrl: '/', headers: kind === 'new' ? {} : { cookie } };
    const res = new Response(() => resolve(res));
    engine.middleware(req, res, (err) => {
      if (err) return reject(err);
      const s = req.session;
      if (kind === 'new') {
        Object.assign(s, sessionData(n));
      } else {
        if (!s.user || s.csrfSecret === undefined) return reject(new Error(`${engine.label}: session did not load`));
        if (kind === 'changed') s.visits = n;
      }
      res.end();
    });
  });
}

async function populate(engine, count) {
  for (let n = 0; n < count; n++) {
    const res = await oneRequest(engine, 'new', null, n);
    engine.cookies.push(String(res.headers['set-cookie']).split(';')[0]);
  }
}

// A changed request stores a value never stored before: express-session
// saves only a session whose contents differ from what was loaded.
let sequence = 0;

async function runBatch(engine, kind, picks, out) {
  const start = process.hrtime.bigint();
  for (const i of picks) {
    const t0 = process.hrtime.bigint();
    await oneRequest(engine, kind, engine.cookies[i], ++sequence);
    if (out) out.push(Number(process.hrtime.bigint() - t0));
  }
  return Number(process.hrtime.bigint() - start);
}

async function newStore(label, url, cleanup) {
  if (label === SESSILE) {
    const store = new SessileStore({ url });
    cleanup.push(async () => store.close());
    return store;
  }
  const client = await connectClient(Number(new URL(url).port));
  cleanup.push(async () => client.quit().catch(() => {}));
  return new RedisStore({ client, prefix: 'sess:' });
}

// ---------------------------------------------------------------------------
// Memory per session

async function memoryPerSession(server, label, count) {
  const c = server.client;
  await c.flushAll();
  await new Promise((r) => setTimeout(r, 200));
  const before = Number((await c.info('memory')).match(/used_memory:(\d+)/)[1]);
  const cleanup = [];
  const store = await newStore(label, server.url, cleanup);
  const ids = [];
  const cookie = () => ({ originalMaxAge: 86400000, expires: new Date(Date.now() + 86400000), httpOnly: true, path: '/' });
  const put = (sid, sess) => new Promise((resolve, reject) => store.set(sid, sess, (e) => (e ? reject(e) : resolve())));
  // Session ids as express-session draws them: 24 random bytes, base64url.
  const uid = () => require('node:crypto').randomBytes(24).toString('base64url');
  for (let n = 0; n < count; n += 64) {
    const batch = [];
    for (let i = n; i < Math.min(count, n + 64); i++) {
      const sid = uid();
      ids.push(sid);
      batch.push(put(sid, { cookie: cookie(), ...sessionData(i) }));
    }
    await Promise.all(batch);
  }
  const after = Number((await c.info('memory')).match(/used_memory:(\d+)/)[1]);
  const keys = await c.dbSize();
  const sample = [];
  for (let i = 0; i < 200; i++) sample.push(await c.randomKey());
  const usage = [];
  const lengths = [];
  for (const k of sample) {
    usage.push(await c.memoryUsage(k));
    lengths.push(await c.strLen(k));
  }
  for (const f of cleanup) await f();
  await c.flushAll();
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  return {
    engine: label,
    sessions: count,
    keys,
    usedMemoryDelta: after - before,
    bytesPerSession: (after - before) / count,
    keyBytes: Math.round(mean(sample.map((k) => Buffer.byteLength(k)))),
    valueBytes: Math.round(mean(lengths)),
    memoryUsageKey: Math.round(mean(usage)),
  };
}

// ---------------------------------------------------------------------------
// Reporting

function table(results) {
  const lines = [
    '| request | store | round trips | commands | median µs | p99 µs | requests/s | ÷ SessileStore (median; over rounds) | server µs: commands / CPU |',
    '|---|---|---:|---|---:|---:|---:|---|---:|',
  ];
  for (const r of results) {
    const cmds = Object.entries(r.byCommand).map(([c, v]) => (v === 1 ? c : `${c} ${v}`)).join(', ');
    const ratio = r.store === SESSILE ? '1.00×' : `${r.ratioToSessile.toFixed(2)}× (${r.perRoundRatio.min.toFixed(2)}–${r.perRoundRatio.max.toFixed(2)})`;
    lines.push(`| ${r.kind} | ${r.store} | ${r.roundTrips.toFixed(2)} | ${cmds} | ${r.medianUs.toFixed(1)} | ` +
      `${r.p99Us.toFixed(1)} | ${Math.round(r.requestsPerSecond).toLocaleString('en-US')} | ${ratio} | ` +
      `${r.serverCommandUs.toFixed(1)} / ${r.serverCpuUs.toFixed(0)} |`);
  }
  return lines.join('\n');
}

function memoryTable(memory) {
  const lines = ['| server | store | bytes per session (used_memory) | key B | value B | MEMORY USAGE B |', '|---|---|---:|---:|---:|---:|'];
  for (const m of memory) {
    lines.push(`| ${m.server} | ${m.engine} | ${m.bytesPerSession.toFixed(0)} | ${m.keyBytes} | ${m.valueBytes} | ${m.memoryUsageKey} |`);
  }
  return lines.join('\n');
}

/** Per request kind, one bar per store on a log axis: median µs (p99 as a tick), round trips, ratio. */
function svgChart(report) {
  const results = report.results;
  const left = 200;
  const right = 330;
  const top = 76;
  const rowH = 26;
  const headH = 22;
  const width = 930;
  const plotW = width - left - right;
  const height = top + results.length * rowH + KINDS.length * headH + 50;
  const bottom = height - 50;
  const lo = 10 ** Math.floor(Math.log10(Math.min(...results.map((r) => r.medianUs))));
  const hi = Math.max(lo * 10, 1.15 * Math.max(...results.map((r) => r.p99Us)));
  const x = (us) => left + (Math.log10(Math.max(us, lo) / lo) / Math.log10(hi / lo)) * plotW;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="8" y="22" font-size="15" font-weight="bold">express-session on one local redis-server: SessileStore vs connect-redis</text>`,
    `<text x="8" y="40" fill="#555">µs per request through the middleware, log scale; bar = median, tick = p99; RT = round trips, counted by a proxy</text>`,
    `<text x="8" y="57" fill="#555">${escapeXml(`${report.date.slice(0, 16).replace('T', ' ')} UTC, ${report.machine.cpu}, ${report.machine.cores} cores (shared, noisy), Redis ${report.redisServer}, one run (${report.command})`)}</text>`,
  ];
  for (let e = 0; e < 8; e++) {
    for (const m of [1, 2, 5]) {
      const t = m * lo * 10 ** e;
      if (t > hi) continue;
      const gx = x(t).toFixed(1);
      out.push(`<line x1="${gx}" y1="${top}" x2="${gx}" y2="${bottom}" stroke="#ddd"/>`, `<text x="${gx}" y="${bottom + 16}" text-anchor="middle" fill="#555">${t}</text>`);
    }
  }
  out.push(`<text x="${left + plotW / 2}" y="${bottom + 36}" text-anchor="middle" fill="#555">µs / request</text>`);
  let y = top;
  for (const kind of KINDS) {
    out.push(`<text x="8" y="${y + 16}" font-weight="bold">${escapeXml(KIND_TEXT[kind])}</text>`);
    y += headH;
    for (const r of results.filter((z) => z.kind === kind)) {
      const colour = r.store === SESSILE ? '#2f7d32' : '#c0392b';
      const bx = x(r.medianUs);
      const px = x(r.p99Us);
      out.push(
        `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${escapeXml(r.store)}</text>`,
        `<rect x="${left}" y="${y + 4}" width="${(bx - left).toFixed(1)}" height="${rowH - 8}" fill="${colour}"/>`,
        `<line x1="${bx.toFixed(1)}" y1="${y + 13}" x2="${px.toFixed(1)}" y2="${y + 13}" stroke="#333"/>`,
        `<line x1="${px.toFixed(1)}" y1="${y + 7}" x2="${px.toFixed(1)}" y2="${y + 19}" stroke="#333" stroke-width="2"/>`,
        `<text x="${left + plotW + 10}" y="${y + 17}">${r.medianUs.toFixed(0)} µs (p99 ${r.p99Us.toFixed(0)}) · ${r.roundTrips.toFixed(0)} RT · ${r.ratioToSessile.toFixed(2)}× SessileStore</text>`
      );
      y += rowH;
    }
  }
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333"/>`, '</svg>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2), DEFAULTS, USAGE);
  const random = prng(opts.seed);
  const pick = (n) => Math.floor(random() * n);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessile-redis-bench-node-'));
  const started = new Date();
  const loadBefore = os.loadavg();
  const servers = [];
  const cleanup = [];
  let counter;
  let report;
  try {
    const server = await startRedis(opts.redisServer, tmp);
    servers.push(server);

    // ---- counting pass, through the proxy
    counter = await startCounter(server.port);
    const counts = {};
    for (const label of [SESSILE, CONNECT_REDIS]) {
      const engine = makeEngine(label, await newStore(label, counter.url, cleanup));
      await populate(engine, 200);
      counts[label] = {};
      for (const kind of KINDS) {
        const picks = () => Array.from({ length: opts.countRequests }, () => pick(200));
        await runBatch(engine, kind, picks().slice(0, 20), null);
        const [rt0, up0, down0] = counter.snapshot();
        const before = await serverCounters(server.client);
        await runBatch(engine, kind, picks(), null);
        const [rt1, up1, down1] = counter.snapshot();
        const after = await serverCounters(server.client);
        const calls0 = before.calls;
        const calls1 = after.calls;
        const n = opts.countRequests;
        const byCommand = {};
        for (const c of Object.keys(calls1).sort()) {
          const d = calls1[c] - (calls0[c] || 0);
          if (d) byCommand[c.toUpperCase()] = Math.round((d / n) * 1000) / 1000;
        }
        counts[label][kind] = {
          roundTrips: (rt1 - rt0) / n,
          commands: Object.values(byCommand).reduce((a, b) => a + b, 0),
          byCommand,
          bytesSent: (up1 - up0) / n,
          bytesReceived: (down1 - down0) / n,
        };
      }
      console.log(`${label}: ` + KINDS.map((k) => `${k} ${counts[label][k].roundTrips.toFixed(2)} round trips ` +
        `(${Object.keys(counts[label][k].byCommand).join(' ')})`).join('; '));
    }
    while (cleanup.length) await cleanup.pop()();
    await counter.stop();
    counter = null;
    await server.client.flushAll();

    // ---- timed pass, direct
    const engines = [];
    for (const label of [SESSILE, CONNECT_REDIS]) {
      const e = makeEngine(label, await newStore(label, server.url, cleanup));
      const t0 = Date.now();
      await populate(e, opts.sessions);
      console.log(`${label.padEnd(22)} ${opts.sessions} sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      for (const kind of KINDS) {
        e.samples[kind] = [];
        e.rounds[kind] = [];
        e.wallNs[kind] = 0;
        e.serverUsec[kind] = 0;
        e.serverCpu[kind] = 0;
      }
      engines.push(e);
    }
    for (const e of engines) {
      for (const kind of KINDS) await runBatch(e, kind, Array.from({ length: opts.warmup }, () => pick(opts.sessions)), null);
    }
    console.log(`timing: ${opts.rounds} rounds of ${opts.batch} requests per store and kind`);
    for (let r = 0; r < opts.rounds; r++) {
      const jobs = [];
      for (const e of engines) for (const kind of KINDS) jobs.push([e, kind]);
      for (let i = jobs.length - 1; i > 0; i--) {
        const j = pick(i + 1);
        [jobs[i], jobs[j]] = [jobs[j], jobs[i]];
      }
      for (const [e, kind] of jobs) {
        const samples = [];
        const picks = Array.from({ length: opts.batch }, () => pick(opts.sessions));
        if (global.gc) global.gc();
        const before = await serverCounters(server.client);
        e.wallNs[kind] += await runBatch(e, kind, picks, samples);
        const after = await serverCounters(server.client);
        e.serverUsec[kind] += after.usec - before.usec;
        e.serverCpu[kind] += after.cpu - before.cpu;
        e.samples[kind].push(...samples);
        e.rounds[kind].push(median(samples));
      }
      console.log(`  round ${r + 1}/${opts.rounds} done`);
    }
    while (cleanup.length) await cleanup.pop()();

    // ---- memory per session
    const memory = [];
    if (opts.memorySessions) {
      const cluster = await startRedis(opts.redisServer, tmp, ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(tmp, 'nodes.conf')]);
      servers.push(cluster);
      // ADDSLOTS, not ADDSLOTSRANGE: the latter is Redis 7.0+, and apt may install 6.x.
      await cluster.client.sendCommand(['CLUSTER', 'ADDSLOTS', ...Array.from({ length: 16384 }, (_, i) => String(i))]);
      for (let tries = 0; !(await cluster.client.sendCommand(['CLUSTER', 'INFO'])).includes('cluster_state:ok'); tries++) {
        if (tries > 100) throw new Error('the one-node cluster did not reach cluster_state:ok');
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const [srv, mode] of [[server, 'standalone'], [cluster, 'cluster node (all 16384 slots)']]) {
        for (const label of [SESSILE, CONNECT_REDIS]) {
          const t0 = Date.now();
          const m = await memoryPerSession(srv, label, opts.memorySessions);
          m.server = mode;
          memory.push(m);
          console.log(`memory, ${mode}, ${label}: ${m.bytesPerSession.toFixed(0)} B per session (${opts.memorySessions} in ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
        }
      }
    }

    const results = [];
    for (const kind of KINDS) {
      const base = engines[0];
      for (const e of engines) {
        const sorted = Float64Array.from(e.samples[kind]).sort();
        const perRound = e.rounds[kind].map((m, i) => m / base.rounds[kind][i]);
        results.push({
          kind,
          request: KIND_TEXT[kind],
          store: e.label,
          ...counts[e.label][kind],
          requests: sorted.length,
          medianUs: percentile(sorted, 0.5) / 1000,
          p99Us: percentile(sorted, 0.99) / 1000,
          requestsPerSecond: sorted.length / (e.wallNs[kind] / 1e9),
          // What a request costs the server: executing its commands
          // (commandstats), and all of redis-server's CPU over the timed
          // batches (socket I/O, its event loop, its background cron).
          serverCommandUs: e.serverUsec[kind] / sorted.length,
          serverCpuUs: (e.serverCpu[kind] * 1e6) / sorted.length,
          roundMediansUs: e.rounds[kind].map((m) => Math.round(m / 100) / 10),
          perRoundRatio: { min: Math.min(...perRound), max: Math.max(...perRound) },
        });
      }
    }
    for (const r of results) {
      const base = results.find((x) => x.kind === r.kind && x.store === SESSILE);
      r.ratioToSessile = r.medianUs / base.medianUs;
    }
    const row = (kind, store) => results.find((r) => r.kind === kind && r.store === store);
    const goals = [];
    {
      const s = row('read', SESSILE);
      const c = row('read', CONNECT_REDIS);
      goals.push({ text: "read-only: SessileStore round trips <= connect-redis's", measured: `${s.roundTrips.toFixed(2)} vs ${c.roundTrips.toFixed(2)}`, met: s.roundTrips <= c.roundTrips });
    }
    {
      const s = row('changed', SESSILE);
      const c = row('changed', CONNECT_REDIS);
      goals.push({ text: "changed: SessileStore round trips <= connect-redis's + 1", measured: `${s.roundTrips.toFixed(2)} vs ${c.roundTrips.toFixed(2)}`, met: s.roundTrips <= c.roundTrips + 1 });
    }
    for (const kind of KINDS) {
      const s = row(kind, SESSILE);
      const c = row(kind, CONNECT_REDIS);
      goals.push({ text: `${kind}: SessileStore median time <= connect-redis's`, measured: `${s.medianUs.toFixed(1)} vs ${c.medianUs.toFixed(1)} µs (connect-redis / SessileStore = ${c.ratioToSessile.toFixed(2)}x)`, met: s.medianUs <= c.medianUs });
    }

    report = {
      benchmark: 'redis_express',
      date: started.toISOString(),
      commit: gitCommit(),
      command: process.argv.length > 2 ? `node benches/node/redis_express.js ${process.argv.slice(2).join(' ')}` : 'make bench-redis',
      machine: machine(),
      loadBefore,
      loadAfter: os.loadavg(),
      redisServer: server.version,
      parameters: { ...opts, out: undefined, redisServer: undefined },
      versions: versions(),
      results,
      memory,
      goals,
    };
  } finally {
    while (cleanup.length) await cleanup.pop()().catch(() => {});
    if (counter) await counter.stop();
    for (const s of servers) await s.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  console.log(`\n${table(report.results)}\n`);
  if (report.memory.length) console.log(`${memoryTable(report.memory)}\n`);
  for (const g of report.goals) console.log(`goal: ${g.text}: ${g.measured} -> ${g.met ? 'met' : 'NOT met'}`);
  console.log(`\n${report.machine.cpu}, ${report.machine.cores} cores (shared, noisy); load average ${report.loadBefore[0].toFixed(2)} before, ${report.loadAfter[0].toFixed(2)} after`);
  const json = writeResults(opts.out, 'redis_express', report, svgChart(report));
  console.log(`wrote ${json} and redis_express.svg`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
