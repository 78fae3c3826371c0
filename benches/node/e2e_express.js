#!/usr/bin/env node
'use strict';
// express-session stores end to end: whole HTTP requests to an express app
// under autocannon, the figure a site's users feel.
//
// One server process per store (benches/node/e2e_express_app.js), apart
// from this process, which generates the load with autocannon (pinned in
// package.json): SessileStore (embedded sled, default settings),
// express-session's MemoryStore, and connect-redis on a redis-server
// started here. A fourth server, `floor`, is the same app without the
// session middleware. The route reads the session, increments a counter in
// it and answers the counter.
//
// Before timing, a pool of sessions (--sessions per store) is created
// through each server's /login. autocannon then runs --connections
// connections; each takes its share of the pool and sends back the cookie
// of each of its sessions in turn, keeping each Set-Cookie it gets, so
// every request hits an existing session. The script counts answers other
// than 200 (a session that did not load answers 500) and counters that are
// not one more than the last one seen for that session (a lost write); the
// run fails on any.
//
// All servers run at once (an idle one costs nothing) and autocannon visits
// them in interleaved rounds: every round runs --seconds on each store, in
// a fresh random order, so a noisy neighbour slows all alike. Per store:
// requests/s and p99 latency (from every response's time as autocannon
// measures it, in µs: autocannon's own histogram keeps whole ms), each the
// median over the rounds; per store and round, its requests/s over
// SessileStore's in the same round, whose median over the rounds is the
// ratio reported (with the range).
//
//   make bench-e2e     (installs what it needs; runs the Django side too)
//   node benches/node/e2e_express.js [--rounds N] [--seconds S]
//        [--connections N] [--sessions N] [--out DIR]
//
// Writes e2e_express.json and e2e_express.svg to DIR (benches/results).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const autocannon = require('autocannon');
const {
  RESULTS,
  escapeXml,
  freePort,
  gitCommit,
  installedVersion,
  machine,
  median,
  parseArgs,
  percentile,
  prng,
  startRedis,
  versions,
  writeResults,
} = require('./benchlib');

const DEFAULTS = {
  sessions: 1000,
  rounds: 5,
  seconds: 3,
  warmup: 1,
  connections: 4,
  seed: 24,
  out: RESULTS,
  redisServer: process.env.REDIS_SERVER || 'redis-server',
};
const USAGE = 'usage: node e2e_express.js [--sessions N] [--rounds N] [--seconds S] [--warmup S] ' +
  '[--connections N] [--seed N] [--out DIR]';
const COOKIE = 'connect.sid';
const BASELINE = 'SessileStore';
const FLOOR = 'floor: no session middleware';
// [--store of e2e_express_app.js, label]
const STORES = [
  ['sessile', BASELINE],
  ['memory', 'MemoryStore'],
  ['redis', 'connect-redis'],
  ['floor', FLOOR],
];

/** e2e_express_app.js for one store on a free port; resolves once it listens. */
async function startServer(store, label, tmp, redisUrl) {
  const port = await freePort();
  const dir = path.join(tmp, store);
  fs.mkdirSync(dir);
  const child = spawn(process.execPath, [path.join(__dirname, 'e2e_express_app.js'), '--store', store,
    '--port', String(port), '--dir', dir, '--redis-url', redisUrl], {
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: the server did not listen within 60 s: ${stderr}`)), 60000);
    child.stdout.on('data', (d) => {
      if (String(d).includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`${label}: the server exited (${code}): ${stderr}`)));
  });
  return {
    store,
    label,
    port,
    cookies: [],
    rounds: [],
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function get(agent, port, urlPath) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    }).on('error', reject);
  });
}

/** The value of `name` in a Set-Cookie header (a string or an array), or undefined. */
function cookieValue(setCookie, name) {
  for (const c of [].concat(setCookie || [])) {
    if (c.startsWith(`${name}=`)) return c.slice(name.length + 1).split(';', 1)[0];
  }
  return undefined;
}

/** `count` sessions through /login on one kept-alive connection. The floor has none. */
async function createPool(server, count) {
  if (server.store === 'floor') return;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let n = 0; n < count; n++) {
    const res = await get(agent, server.port, `/login?n=${n}`);
    const value = cookieValue(res.headers['set-cookie'], COOKIE);
    if (res.statusCode !== 200 || !value) throw new Error(`${server.label}: /login answered ${res.statusCode} without a session cookie`);
    server.cookies.push(value);
  }
  agent.destroy();
}

/**
 * autocannon on one server for `seconds`; requests/s, latency percentiles
 * in µs and the checks. Connection i takes the pool's entries i, i + N, ...
 * and cycles through them, keeping what each Set-Cookie says.
 */
async function load(server, seconds, connections) {
  let nextConnection = 0;
  const checks = { not200: 0, lostWrites: 0 };
  const setupClient = (client) => {
    const mine = server.cookies.filter((_, i) => i % connections === nextConnection);
    nextConnection += 1;
    const counts = mine.map(() => undefined);
    let slot = -1;
    client.setRequests([{
      method: 'GET',
      path: '/',
      setupRequest(req) {
        if (!mine.length) return req;
        slot = (slot + 1) % mine.length;
        return { ...req, headers: { ...req.headers, cookie: `${COOKIE}=${mine[slot]}` } };
      },
      onResponse(status, body, context, headers) {
        if (status !== 200) checks.not200 += 1;
        if (!mine.length) return;
        const n = Number(body);
        if (counts[slot] !== undefined && n !== counts[slot] + 1) checks.lostWrites += 1;
        counts[slot] = n;
        const value = cookieValue(headers['Set-Cookie'] ?? headers['set-cookie'], COOKIE);
        if (value) mine[slot] = value;
      },
    }]);
  };
  const samples = [];
  const instance = autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections,
    pipelining: 1,
    duration: seconds,
    setupClient,
  });
  instance.on('response', (client, status, bytes, ms) => samples.push(ms * 1000));
  const result = await instance;
  const sorted = Float64Array.from(samples).sort();
  const r = {
    requests: result.requests.total,
    seconds: result.duration,
    requestsPerSecond: result.requests.total / result.duration,
    p50Us: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99),
    maxUs: sorted[sorted.length - 1],
  };
  const bad = { ...checks, errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx };
  for (const [k, v] of Object.entries(bad)) {
    if (v) throw new Error(`${server.label}: ${k} = ${v} in ${JSON.stringify(bad)}; server stderr: ${server.stderr()}`);
  }
  return r;
}

// ---------------------------------------------------------------------------
// Reporting

function summarize(servers) {
  const base = servers.find((s) => s.label === BASELINE);
  const baseRps = base.rounds.map((r) => r.requestsPerSecond);
  return servers.map((s) => {
    const rps = s.rounds.map((r) => r.requestsPerSecond);
    const perRound = rps.map((v, i) => v / baseRps[i]);
    return {
      store: s.label,
      requestsPerSecond: median(rps),
      p50Us: median(s.rounds.map((r) => r.p50Us)),
      p99Us: median(s.rounds.map((r) => r.p99Us)),
      requests: s.rounds.reduce((a, r) => a + r.requests, 0),
      ratioToSessile: median(perRound),
      perRoundRatioToSessile: { min: Math.min(...perRound), max: Math.max(...perRound) },
      rounds: s.rounds,
    };
  });
}

/** The goals, on the median over rounds of the paired ratios. */
function evaluate(results) {
  const by = Object.fromEntries(results.map((r) => [r.store, r]));
  const vsMemory = 1 / by.MemoryStore.ratioToSessile;
  const vsRedis = 1 / by['connect-redis'].ratioToSessile;
  return [
    { text: "SessileStore req/s >= 0.95 x MemoryStore's", measured: `SessileStore / MemoryStore = ${vsMemory.toFixed(2)}`,
      ratio: vsMemory, limit: 0.95, met: vsMemory >= 0.95 },
    { text: "SessileStore req/s >= 2 x connect-redis's", measured: `SessileStore / connect-redis = ${vsRedis.toFixed(2)}`,
      ratio: vsRedis, limit: 2, met: vsRedis >= 2 },
  ];
}

const thousands = (v) => Math.round(v).toLocaleString('en-US').replace(/,/g, ' ');

function table(results) {
  const rows = results.map((r) => {
    const spread = r.perRoundRatioToSessile;
    return [r.store, thousands(r.requestsPerSecond), (r.p99Us / 1000).toFixed(2),
      r.store === BASELINE ? '1.00× (baseline)'
        : `${r.ratioToSessile.toFixed(2)}× (${spread.min.toFixed(2)}–${spread.max.toFixed(2)})`];
  });
  return ['| store | requests/s | p99 ms | req/s ÷ SessileStore\'s (range over rounds) |', '| --- | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Horizontal bars of requests/s (linear), the p99 and ratio beside each, as e2e_django.svg. */
function svgChart(report) {
  const rows = report.results;
  const left = 210;
  const right = 300;
  const top = 96;
  const rowH = 30;
  const width = 960;
  const plotW = width - left - right;
  const height = top + rowH * rows.length + 56;
  const hi = Math.max(...rows.map((r) => r.requestsPerSecond));
  const step = [100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000].find((s) => hi / s <= 8) ?? 20000;
  const ticks = Math.floor(hi / step) + 1;
  const x = (v) => left + (v / (ticks * step)) * plotW;
  const p = report.parameters;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    '<text x="12" y="22" font-size="15" font-weight="bold">express under autocannon: whole HTTP requests per second (higher is better)</text>',
    ...[
      `GET /: load the session, increment a counter, save; ${p.server}`,
      `${p.load}; bar = median over ${p.rounds} rounds`,
      `${report.date.slice(0, 16).replace('T', ' ')} UTC, ${report.machine.cpu}, ${report.machine.cores} cores (shared, noisy), one run (${report.command})`,
    ].map((line, i) => `<text x="12" y="${40 + 17 * i}" fill="#555">${escapeXml(line)}</text>`),
  ];
  const bottom = top + rowH * rows.length;
  for (let t = 0; t <= ticks; t++) {
    const gx = x(t * step).toFixed(1);
    out.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${bottom}" stroke="#ddd"/>`,
      `<text x="${gx}" y="${bottom + 16}" text-anchor="middle" fill="#555">${thousands(t * step)}</text>`);
  }
  out.push(`<text x="${(left + plotW / 2).toFixed(1)}" y="${bottom + 36}" text-anchor="middle" fill="#555">requests / s (median over ${p.rounds} rounds)</text>`);
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const colour = r.store === BASELINE ? '#d9480f' : r.store === FLOOR ? '#adb5bd' : '#4c6ef5';
    const ratio = r.store === BASELINE ? 'baseline' : `${r.ratioToSessile.toFixed(2)}× SessileStore`;
    out.push(
      `<text x="${left - 8}" y="${y + 19}" text-anchor="end">${escapeXml(r.store)}</text>`,
      `<rect x="${left}" y="${y + 6}" width="${(x(r.requestsPerSecond) - left).toFixed(1)}" height="${rowH - 12}" fill="${colour}"/>`,
      `<text x="${left + plotW + 10}" y="${y + 19}">${thousands(r.requestsPerSecond)}/s · p99 ${(r.p99Us / 1000).toFixed(1)} ms · ${ratio}</text>`
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

async function main() {
  const opts = parseArgs(process.argv.slice(2), DEFAULTS, USAGE);
  if (opts.sessions < opts.connections) throw new Error('--sessions must be at least --connections (every connection needs sessions)');
  const started = new Date();
  const loadBefore = os.loadavg();
  const t0 = process.hrtime.bigint();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessile-e2e-express-'));
  let redis;
  const servers = [];
  try {
    redis = await startRedis(opts.redisServer, tmp);
    for (const [store, label] of STORES) servers.push(await startServer(store, label, tmp, redis.url));
    for (const s of servers) {
      const t = Date.now();
      await createPool(s, opts.sessions);
      console.log(`${s.label.padEnd(30)} ${s.cookies.length} sessions in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    for (const s of servers) await load(s, opts.warmup, opts.connections);
    console.log(`timing: ${opts.rounds} rounds x ${servers.length} servers x ${opts.seconds} s`);
    // A fresh random order each round, as benchlib.py's interleaved_rounds.
    const random = prng(opts.seed);
    for (let round = 0; round < opts.rounds; round++) {
      const order = servers.slice();
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (const s of order) s.rounds.push(await load(s, opts.seconds, opts.connections));
      console.log(`  round ${round + 1}/${opts.rounds} done`);
    }
  } finally {
    for (const s of servers) await s.stop();
    if (redis) await redis.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const results = summarize(servers);
  const goals = evaluate(results);
  const report = {
    benchmark: 'e2e_express',
    command: process.argv.length > 2 ? `node benches/node/e2e_express.js ${process.argv.slice(2).join(' ')}` : 'make bench-e2e',
    date: started.toISOString(),
    commit: gitCommit(),
    machine: machine({ memoryGiB: true }),
    loadBefore,
    loadAfter: os.loadavg(),
    runSeconds: Math.round(Number(process.hrtime.bigint() - t0) / 1e8) / 10,
    parameters: {
      request: 'GET / with the session cookie: express-session loads the session, the route increments a counter, express-session saves it and sets the cookie',
      server: 'one Node process per store, NODE_ENV=production',
      load: `autocannon in another process, ${opts.connections} keep-alive connections, each with its cookies`,
      sessionsPerStore: opts.sessions,
      rounds: opts.rounds,
      secondsPerRound: opts.seconds,
      warmupSeconds: opts.warmup,
      seed: opts.seed,
      sessile: 'SessileStore({ path }), fresh temp dir, durable: false (default)',
      redis: `redis-server ${redis.version} on 127.0.0.1, --save '' --appendonly no`,
    },
    versions: { ...versions(), express: installedVersion('express'), autocannon: installedVersion('autocannon') },
    results,
    goals,
  };
  console.log(`\n${table(results)}\n`);
  for (const g of goals) console.log(`goal: ${g.text}: ${g.measured} -> ${g.met ? 'met' : 'NOT met'}`);
  const m = report.machine;
  console.log(`\n${m.cpu}, ${m.cores} cores; load average ${loadBefore[0].toFixed(2)} before, ${report.loadAfter[0].toFixed(2)} after`);
  const json = writeResults(opts.out, 'e2e_express', report, svgChart(report));
  console.log(`wrote ${json} and e2e_express.svg`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

module.exports = { svgChart };
