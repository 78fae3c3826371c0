'use strict';
// The loader as an installed package sees it: a copy of this package at
// <project>/node_modules/sessile, outside any sessile checkout. It must take
// the library from its own prebuilds/<platform>-<arch>-<libc>/ with no
// environment variable, never from a cargo build in the user's project
// (issue 19: it looked for <project>/target/release/libsessile.so and
// called that "the repository build"), and without a prebuilt library for
// the platform it must say which platform and what to do.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const native = require('../lib/native');
const { platformTag, libraryFileName } = require('../lib/locate');

const PACKAGE = path.resolve(__dirname, '..');

/** A user project with this package installed in it, minus prebuilds/. */
function installedCopy(t) {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'sessile-installed-'));
  t.after(() => fs.rmSync(project, { recursive: true, force: true }));
  const pkg = path.join(project, 'node_modules', 'sessile');
  fs.mkdirSync(pkg, { recursive: true });
  for (const f of ['package.json', 'index.js', 'lib']) fs.cpSync(path.join(PACKAGE, f), path.join(pkg, f), { recursive: true });
  return { project, pkg };
}

/** Runs `script` in a child node in `project`, require('sessile') resolving to the copy. */
function runIn(project, script) {
  const env = { ...process.env, NODE_PATH: path.join(PACKAGE, 'node_modules') };
  delete env.SESSILE_LIBRARY;
  delete env.CARGO_TARGET_DIR;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: project, env, encoding: 'utf8' });
  return JSON.parse(out);
}

const TRY_OPEN = `
  const { Engine, libraryCandidates } = require('sessile');
  let result;
  try {
    const e = Engine.open(null, { memory: true, sweepIntervalMs: 0 });
    result = { library: e.library };
    e.close();
  } catch (err) {
    result = { code: err.code, message: err.message };
  }
  result.candidates = libraryCandidates();
  process.stdout.write(JSON.stringify(result));
`;

test('an installed package loads its prebuilt library with no environment variable', (t) => {
  const { project, pkg } = installedCopy(t);
  const prebuilt = path.join(pkg, 'prebuilds', platformTag(), libraryFileName());
  fs.mkdirSync(path.dirname(prebuilt), { recursive: true });
  fs.copyFileSync(native.load().file, prebuilt);
  const r = runIn(project, TRY_OPEN);
  assert.equal(r.code, undefined, r.message);
  assert.equal(r.library, fs.realpathSync(prebuilt));
});

test('an installed package never loads a cargo build from the user\'s project', (t) => {
  const { project } = installedCopy(t);
  // What the old loader found: <project>/target/release/libsessile.so.
  const decoy = path.join(project, 'target', 'release', libraryFileName());
  fs.mkdirSync(path.dirname(decoy), { recursive: true });
  fs.copyFileSync(native.load().file, decoy);
  fs.writeFileSync(path.join(project, 'Cargo.toml'), '[package]\nname = "sessile"\n');
  const r = runIn(project, TRY_OPEN);
  assert.equal(r.code, 'LIBRARY_NOT_FOUND');
  assert.deepEqual(r.candidates.map((c) => c.from), [`the prebuilt library for ${platformTag()}`]);
  assert.ok(!r.message.includes(decoy), r.message);
  assert.doesNotMatch(r.message, /repository build/);
});

test('without a prebuilt library for the platform, the error names the platform and what to do', (t) => {
  const { project } = installedCopy(t);
  // koffi picks its own native module by arch, so it loads before the arch changes.
  const r = runIn(project, `require('koffi'); Object.defineProperty(process, 'arch', { value: 'arm64' });` + TRY_OPEN);
  assert.equal(r.code, 'LIBRARY_NOT_FOUND');
  const tag = platformTag().replace(`-${process.arch}`, '-arm64');
  assert.match(r.message, new RegExp(`no prebuilt native library for ${tag} \\(it has: none\\)`));
  assert.match(r.message, /cargo build --release --lib/);
  assert.match(r.message, /`library` option or in SESSILE_LIBRARY/);
});

test('in the sessile checkout, the cargo build is the fallback after prebuilds/', { skip: process.env.SESSILE_LIBRARY ? 'SESSILE_LIBRARY is set' : false }, () => {
  const from = require('..').libraryCandidates().map((c) => c.from);
  assert.equal(from[0], `the prebuilt library for ${platformTag()}`);
  assert.equal(from.at(-1), "the sessile checkout's cargo build");
});
