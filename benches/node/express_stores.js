#!/usr/bin/env node
'use strict';
// The store work of one express-session request, side by side:
// SessileStore vs express-session's MemoryStore vs connect-redis (Redis on
// 127.0.0.1, started here). A request is what express-session does with
// `resave: false` when the handler changed the session: `store.get`, then
// `store.createSession`, one key changed, then `store.set` of the Session
// object — each through the callback API, awaited, one request at a time.
// Two more rows, not stores, are the least a store on sled does through the
// C ABI (SledFloorStore and SledDiffFloorStore below).
//
// The machine is shared and noisy, so the stores take turns in rounds (the
// order rotates each round) and every figure comes from the same run.
//
//   node express_stores.js [--sessions 10000] [--requests 50000] [--rounds 10]
//                          [--warmup 5000] [--out DIR]
//
// Writes express_stores.json and express_stores.svg to DIR (benches/results).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const session = require('express-session');
const { RedisStore } = require('connect-redis');
const { SessileStore } = require('../../bindings/node');
const { decode, packPlain } = require('../../bindings/node/lib/engine');
const { packJSON } = require('../../bindings/node/lib/json-pack');
const {
  RESULTS,
  escapeXml,
  gitCommit,
  machine,
  nearestRankPercentile,
  parseArgs,
  prng,
  startRedis,
  versions,
  writeResults,
} = require('./benchlib');

const DEFAULTS = {
  sessions: 10000,
  requests: 50000,
  rounds: 10,
  warmup: 5000,
  out: RESULTS,
  redisServer: process.env.REDIS_SERVER || 'redis-server',
};
const USAGE = 'usage: node express_stores.js [--sessions N] [--requests N] [--rounds N] [--warmup N] [--out DIR]';

function call(store, method, ...args) {
  return new Promise((resolve, reject) => {
    store[method](...args, (err, value) => (err ? reject(err) : resolve(value)));
  });
}

/** A logged-in visitor's session: a cookie and a few keys, ~300 B of JSON. */
function initialSession(i) {
  return {
    cookie: { originalMaxAge: 86400000, expires: new Date(Date.now() + 86400000), httpOnly: true, path: '/' },
    user: { id: 100000 + i, name: `user${i}`, roles: ['member'] },
    csrfSecret: `k${i.toString(36).padStart(30, '0')}`,
    cart: [{ sku: 'A-1', qty: 1 }, { sku: 'B-22', qty: 2 }],
    flash: [],
    visits: 0,
  };
}

/**
 * One request: what express-session calls on the store. `req` stands in
 * for the request object (createSession puts the Session on it).
 */
async function request(store, sid) {
  const stored = await call(store, 'get', sid);
  if (!stored) throw new Error(`session ${sid} not found`);
  const req = { sessionID: sid, sessionStore: store };
  const sess = store.createSession(req, stored);
  sess.visits += 1;
  await call(store, 'set', sid, sess);
}

const FLOOR = 'floor: sessile load + touch';

/**
 * Not a store: what any express-session store on sled does at the least
 * per request through the C ABI, as the Django bench's floor row. `get` is
 * one native load (loadRaw) decoded to an object; `set` packs the session
 * to MessagePack (a store must serialize it) and makes one sled write of a
 * record of the same size (`touch` writes the stored record back with a new
 * deadline). No JSON round trip, no diff, no merge, and the change is not
 * kept. Its sessions are filled through a real SessileStore on the same
 * engine.
 */
class SledFloorStore extends session.Store {
  constructor(engine) {
    super();
    this.engine = engine;
  }

  get(sid, cb) {
    const raw = this.engine.loadRaw(sid);
    setImmediate(cb, null, raw ? decode(raw) : null);
  }

  set(sid, sess, cb) {
    packPlain(sess);
    this.engine.touch(sid, 86400);
    setImmediate(cb, null);
  }
}

const DIFF_FLOOR = 'floor: sessile load + saveDiff';

/**
 * Not a store either: the least a store on sled does per request when it
 * keeps the change the way SessileStore does, so that parallel requests
 * changing different keys keep both. `get` is one native load (loadRaw)
 * decoded to an object, its bytes kept for the one request in flight;
 * `set` packs the session's JSON form (lib/json-pack.js, as SessileStore)
 * and makes one saveDiff against those bytes, keeping the stored expiry.
 * What SessileStore does beyond this row is its bookkeeping: the id
 * mapping, the snapshot it keeps on the Session (or by id), the cookie's
 * deadline, the calls through its runner. Its sessions are filled through
 * a real SessileStore on the same engine.
 */
class SledDiffFloorStore extends session.Store {
  constructor(engine) {
    super();
    this.engine = engine;
    this.seen = { sid: null, bytes: null };
  }

  get(sid, cb) {
    const raw = this.engine.loadRaw(sid);
    this.seen.sid = sid;
    this.seen.bytes = raw;
    setImmediate(cb, null, raw ? decode(raw) : null);
  }

  set(sid, sess, cb) {
    const base = this.seen.sid === sid ? this.seen.bytes : null;
    this.engine.saveDiff(sid, base, packJSON(sess), {});
    setImmediate(cb, null);
  }
}

/** Horizontal bars: median (solid) and p99 (light) µs per request, ratio to SessileStore. */
function svgChart(report) {
  const rows = report.results;
  const width = 800;
  const left = 235;
  const right = 150;
  const barH = 16;
  const rowH = 2 * barH + 22;
  const top = 58;
  const height = top + rows.length * rowH + 44;
  const max = Math.max(...rows.map((r) => r.p99Us));
  const scale = (width - left - right) / max;
  const fmt = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">express-session store operations per request (get + set), µs — lower is better</text>`,
    `<text x="${width / 2}" y="40" text-anchor="middle" fill="#555">${escapeXml(
      `${report.parameters.sessions} sessions per store, ${report.parameters.requests} sequential requests per store, ${report.date.slice(0, 10)}, ${report.machine.cpu} (${report.machine.cores} cores)`
    )}</text>`
  );
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const colour = r.store === 'SessileStore' ? '#2f7d32' : r.store.startsWith('connect-redis') ? '#c0392b' : '#1f5fa8';
    out.push(
      `<text x="${left - 8}" y="${y + barH + 4}" text-anchor="end" font-weight="bold">${escapeXml(r.store)}</text>`,
      `<rect x="${left}" y="${y}" width="${(r.medianUs * scale).toFixed(1)}" height="${barH}" fill="${colour}"/>`,
      `<text x="${(left + r.medianUs * scale + 6).toFixed(1)}" y="${y + barH - 4}">median ${fmt(r.medianUs)} µs${
        r.store === 'SessileStore' ? '' : ` = ${r.medianRatio.toFixed(2)}× SessileStore`
      }</text>`,
      `<rect x="${left}" y="${y + barH + 2}" width="${(r.p99Us * scale).toFixed(1)}" height="${barH}" fill="${colour}" fill-opacity="0.35"/>`,
      `<text x="${(left + r.p99Us * scale + 6).toFixed(1)}" y="${y + 2 * barH - 2}" fill="#444">p99 ${fmt(r.p99Us)} µs</text>`
    );
  });
  const axisY = top + rows.length * rowH;
  out.push(`<line x1="${left}" y1="${top - 6}" x2="${left}" y2="${axisY}" stroke="#333"/>`);
  out.push(
    `<text x="${width / 2}" y="${axisY + 24}" text-anchor="middle" fill="#555">${escapeXml(`solid: median, light: p99; store calls as express-session makes them, one request at a time; command: ${report.command}`)}</text>`,
    `</svg>`
  );
  return out.join('\n') + '\n';
}

function table(report) {
  const head = ['store', 'median µs', 'p99 µs', 'req/s', 'median ÷ SessileStore', 'p99 ÷ SessileStore'];
  const body = report.results.map((r) => [
    r.store,
    r.medianUs.toFixed(1),
    r.p99Us.toFixed(1),
    Math.round(r.requestsPerSecond).toLocaleString('en-US'),
    `${r.medianRatio.toFixed(2)}×`,
    `${r.p99Ratio.toFixed(2)}×`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2), DEFAULTS, USAGE);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessile-bench-node-'));
  let redis;
  const stores = [];
  try {
    redis = await startRedis(opts.redisServer, tmp);
    const sessile = new SessileStore({ path: path.join(tmp, 'sessions.db') });
    const floorBacking = new SessileStore({ path: path.join(tmp, 'floor.db') });
    const diffFloorBacking = new SessileStore({ path: path.join(tmp, 'diff-floor.db') });
    stores.push(
      { name: 'SessileStore', store: sessile, genid: sessile.genid, close: () => sessile.close() },
      { name: 'MemoryStore', store: new session.MemoryStore(), genid: () => sessile.genid() },
      {
        name: `connect-redis (Redis ${redis.version})`,
        store: new RedisStore({ client: redis.client, prefix: 'sess:' }),
        genid: () => sessile.genid(),
      },
      {
        name: FLOOR,
        store: new SledFloorStore(floorBacking.engine),
        fill: floorBacking,
        genid: () => sessile.genid(),
        close: () => floorBacking.close(),
      },
      {
        name: DIFF_FLOOR,
        store: new SledDiffFloorStore(diffFloorBacking.engine),
        fill: diffFloorBacking,
        genid: () => sessile.genid(),
        close: () => diffFloorBacking.close(),
      }
    );

    process.stdout.write(`filling ${opts.sessions} sessions per store ...`);
    for (const s of stores) {
      s.ids = [];
      s.samples = [];
      s.timedNs = 0n;
      for (let i = 0; i < opts.sessions; i++) {
        const sid = s.genid();
        s.ids.push(sid);
        await call(s.fill || s.store, 'set', sid, initialSession(i));
      }
    }
    process.stdout.write(' done\n');

    // Deterministic choices, the same sequence for every store.
    const random = prng(0x5e551e);
    const picks = Uint32Array.from({ length: opts.warmup + opts.requests }, () => Math.floor(random() * opts.sessions));

    for (const s of stores) for (let i = 0; i < opts.warmup; i++) await request(s.store, s.ids[picks[i]]);

    const perRound = Math.ceil(opts.requests / opts.rounds);
    for (let round = 0; round < opts.rounds; round++) {
      const from = opts.warmup + round * perRound;
      const to = Math.min(opts.warmup + opts.requests, from + perRound);
      for (let k = 0; k < stores.length; k++) {
        const s = stores[(round + k) % stores.length];
        const roundStart = process.hrtime.bigint();
        for (let i = from; i < to; i++) {
          const t0 = process.hrtime.bigint();
          await request(s.store, s.ids[picks[i]]);
          s.samples.push(Number(process.hrtime.bigint() - t0));
        }
        s.timedNs += process.hrtime.bigint() - roundStart;
      }
      if (process.stdout.isTTY) process.stdout.write(`\rround ${round + 1}/${opts.rounds}`);
    }
    if (process.stdout.isTTY) process.stdout.write('\n');

    const results = stores.map((s) => {
      const sorted = Float64Array.from(s.samples).sort();
      return {
        store: s.name,
        requests: sorted.length,
        medianUs: nearestRankPercentile(sorted, 0.5) / 1000,
        p99Us: nearestRankPercentile(sorted, 0.99) / 1000,
        requestsPerSecond: sorted.length / (Number(s.timedNs) / 1e9),
      };
    });
    const base = results[0];
    for (const r of results) {
      r.medianRatio = r.medianUs / base.medianUs;
      r.p99Ratio = r.p99Us / base.p99Us;
      r.throughputRatio = base.requestsPerSecond / r.requestsPerSecond;
    }

    const report = {
      benchmark: 'express-session store operations per request: get, createSession, one key changed, set (resave: false)',
      command: 'make bench-node',
      date: new Date().toISOString(),
      commit: gitCommit(),
      machine: machine({ memoryGiB: true }),
      parameters: {
        sessions: opts.sessions,
        requests: opts.requests,
        rounds: opts.rounds,
        warmup: opts.warmup,
        sessionJsonBytes: JSON.stringify(initialSession(opts.sessions)).length,
        sessile: 'SessileStore, fresh temp dir, durable: false (default)',
        redis: `redis-server ${redis.version} on 127.0.0.1, --save '' --appendonly no`,
      },
      versions: versions(),
      note: 'ratios are each store divided by SessileStore (median, p99; and SessileStore requests/s over the store\'s)',
      results,
    };

    console.log(`\n${table(report)}\n`);
    const json = writeResults(opts.out, 'express_stores', report, svgChart(report));
    console.log(`wrote ${path.relative(process.cwd(), json)} and express_stores.svg`);
  } finally {
    for (const s of stores) if (s.close) s.close();
    if (redis) await redis.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
