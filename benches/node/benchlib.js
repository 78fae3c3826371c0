'use strict';
// What the Node side-by-side benchmarks share: their command line, the
// seeded choices, a logged-in visitor's session data, a redis-server of
// their own, percentiles, the machine and package versions recorded with
// the figures, XML escaping for the charts and the writing of the results.
//
// Used by benches/node/express_stores.js (`make bench-node`),
// benches/node/redis_express.js (`make bench-redis`) and
// benches/node/e2e_express*.js (`make bench-e2e`), as require('./benchlib').
// Nothing here is timed itself: the measured requests stay in the scripts.

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const { createClient } = require('redis');

const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'benches', 'results');

/**
 * `--some-option value` pairs into a copy of `defaults` (someOption); a
 * number stays a number. An unknown option or one without a value prints
 * `usage` and exits with 2.
 */
function parseArgs(argv, defaults, usage) {
  const opts = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(name in opts) || i + 1 >= argv.length) {
      console.error(usage);
      process.exit(2);
    }
    const value = argv[++i];
    opts[name] = typeof opts[name] === 'number' ? Number(value) : value;
  }
  return opts;
}

/** Deterministic choices in [0, 1) from a seed (mulberry32): the same sequence on every run. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A logged-in visitor's data, ~250 B of JSON with express-session's cookie. */
function sessionData(i) {
  return {
    user: { id: 100000 + i, name: `user${i}`, roles: ['member'] },
    csrfSecret: `k${i.toString(36).padStart(30, '0')}`,
    cart: [{ sku: 'A-1', qty: 1 }, { sku: 'B-22', qty: 2 }],
    visits: 0,
  };
}

// ---------------------------------------------------------------------------
// redis-server: our own on a free port, nothing saved to disk

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A node-redis client connected to 127.0.0.1:port that never reconnects. */
async function connectClient(port) {
  const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * `binary` started on a free 127.0.0.1 port with persistence off, its files
 * in dir/redis-<port>, `extra` on its command line; resolves once it answers
 * PING, to { client, port, version, url, stop() }.
 */
async function startRedis(binary, dir, extra = []) {
  const port = await freePort();
  const workdir = path.join(dir, `redis-${port}`);
  fs.mkdirSync(workdir);
  const child = spawn(
    binary,
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', workdir,
      '--logfile', '', ...extra],
    { stdio: ['ignore', 'ignore', 'inherit'] }
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve, reject) => {
    child.once('error', (e) =>
      reject(new Error(`cannot start ${binary} (${e.code}); install it (apt-get install -y redis-server) or set REDIS_SERVER`))
    );
    child.once('spawn', resolve);
  });
  let client;
  for (let tries = 0; ; tries++) {
    try {
      client = await connectClient(port);
      await client.ping();
      break;
    } catch (e) {
      if (tries >= 100 || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`redis-server on 127.0.0.1:${port} did not answer: ${e.message}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const version = (await client.info('server')).match(/redis_version:(\S+)/)?.[1] ?? 'unknown';
  return {
    client,
    port,
    version,
    url: `redis://127.0.0.1:${port}/0`,
    async stop() {
      try {
        await client.quit();
      } catch {
        // already gone
      }
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------
// Statistics

/** Linear interpolation between the closest ranks of sorted values (NaN for none), as benchlib.py's. */
function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const k = (sorted.length - 1) * p;
  const lo = Math.floor(k);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (k - lo);
}

/** The nearest-rank percentile of sorted values: the smallest value with at least p of them at or below it. */
function nearestRankPercentile(sorted, p) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i];
}

function median(a) {
  return percentile(Float64Array.from(a).sort(), 0.5);
}

// ---------------------------------------------------------------------------
// What the figures were measured on

/** The CPU, its cores, the kernel and Node's version; the memory in GiB too if `memoryGiB`. */
function machine({ memoryGiB = false } = {}) {
  const cpus = os.cpus();
  return {
    cpu: cpus[0] ? cpus[0].model.trim() : 'unknown cpu',
    cores: cpus.length,
    ...(memoryGiB ? { memoryGiB: Math.round(os.totalmem() / 2 ** 30) } : {}),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

/** The checkout's commit (short hash), for a report: 'unknown' outside a checkout. */
function gitCommit() {
  try {
    return execFileSync('git', ['-C', __dirname, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Read from node_modules: some packages do not export their package.json. */
function installedVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** Node's version and the measured packages'. */
function versions() {
  return {
    node: process.version,
    'express-session': installedVersion('express-session'),
    'connect-redis': installedVersion('connect-redis'),
    redis: installedVersion('redis'),
    sessile: require('../../bindings/node/package.json').version,
  };
}

// ---------------------------------------------------------------------------
// Reporting

function escapeXml(s) {
  return String(s).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);
}

/** dir/<name>.json (indented, a newline at the end) and dir/<name>.svg; the JSON file's path. */
function writeResults(dir, name, report, svg) {
  const json = path.join(dir, `${name}.json`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, `${name}.svg`), svg);
  return json;
}

module.exports = {
  RESULTS,
  gitCommit,
  parseArgs,
  prng,
  sessionData,
  freePort,
  connectClient,
  startRedis,
  percentile,
  nearestRankPercentile,
  median,
  machine,
  installedVersion,
  versions,
  escapeXml,
  writeResults,
};
