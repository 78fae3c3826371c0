'use strict';
// Where the native library is looked for. No dependencies, so that the
// Makefile can ask for the platform tag before node_modules exists.
//
// Order: the `library` option, SESSILE_LIBRARY, this package's
// prebuilds/<tag>/, and only for a development install (this package is
// bindings/node of a sessile checkout) the checkout's cargo build. The last
// one is never guessed from the directory layout alone: an installed
// package sits in <project>/node_modules/sessile, whose ../.. is the
// user's project, not a sessile repository.

const fs = require('node:fs');
const path = require('node:path');

const PACKAGE_DIR = path.resolve(__dirname, '..');

function libraryFileName(platform = process.platform) {
  if (platform === 'win32') return 'sessile.dll';
  if (platform === 'darwin') return 'libsessile.dylib';
  return 'libsessile.so';
}

/**
 * 'gnu' or 'musl' on Linux (a library linked against glibc does not load
 * on musl and the other way round), null elsewhere. Asked once: a process
 * report takes milliseconds, and generateKey() without a `library` option
 * looks the library up on every call.
 */
let libc;
function linuxLibc() {
  if (process.platform !== 'linux') return null;
  if (libc === undefined) {
    const report = process.report && typeof process.report.getReport === 'function' ? process.report.getReport() : null;
    libc = report && report.header && report.header.glibcVersionRuntime ? 'gnu' : 'musl';
  }
  return libc;
}

/** The prebuilds/ folder name for this process: linux-x64-gnu, linux-arm64-musl, darwin-arm64, win32-x64. */
function platformTag() {
  const libc = linuxLibc();
  return [process.platform, process.arch, libc].filter(Boolean).join('-');
}

/** The platform tags this package carries a prebuilt library for. */
function prebuiltTags(packageDir = PACKAGE_DIR) {
  const dir = path.join(packageDir, 'prebuilds');
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const files = ['libsessile.so', 'libsessile.dylib', 'sessile.dll'];
  return names.filter((tag) => files.some((f) => fs.existsSync(path.join(dir, tag, f)))).sort();
}

/**
 * The sessile checkout this package belongs to, or null. A development
 * install is this package at <repo>/bindings/node next to the crate's
 * Cargo.toml and C header; anything else (node_modules/sessile in a user's
 * project) is not one.
 */
function developmentCheckout(packageDir = PACKAGE_DIR) {
  const repo = path.resolve(packageDir, '..', '..');
  if (path.join(repo, 'bindings', 'node') !== packageDir) return null;
  if (!fs.existsSync(path.join(repo, 'include', 'sessile.h'))) return null;
  let manifest;
  try {
    manifest = fs.readFileSync(path.join(repo, 'Cargo.toml'), 'utf8');
  } catch {
    return null;
  }
  return /^\s*name\s*=\s*"sessile"\s*$/m.test(manifest) ? repo : null;
}

/**
 * The files to try, in order, each with where it came from. The first
 * that exists is loaded; none existing is LIBRARY_NOT_FOUND.
 */
function candidates(explicit) {
  if (explicit) return [{ file: path.resolve(explicit), from: 'the `library` option' }];
  if (process.env.SESSILE_LIBRARY) {
    return [{ file: path.resolve(process.env.SESSILE_LIBRARY), from: 'SESSILE_LIBRARY' }];
  }
  const tag = platformTag();
  const out = [
    { file: path.join(PACKAGE_DIR, 'prebuilds', tag, libraryFileName()), from: `the prebuilt library for ${tag}` },
  ];
  const repo = developmentCheckout();
  if (repo) {
    if (process.env.CARGO_TARGET_DIR) {
      out.push({
        file: path.resolve(repo, process.env.CARGO_TARGET_DIR, 'release', libraryFileName()),
        from: 'CARGO_TARGET_DIR of the sessile checkout',
      });
    }
    out.push({ file: path.join(repo, 'target', 'release', libraryFileName()), from: 'the sessile checkout\'s cargo build' });
  }
  return out;
}

/** The LIBRARY_NOT_FOUND message: what was tried and what to do about it. */
function notFoundMessage(tried) {
  const looked = 'Looked for ' + tried.map((c) => `${c.file} (${c.from})`).join(', ') + '.';
  const build =
    'Build the library from the sessile repository with `cargo build --release --lib` ' +
    'and pass target/release/' + libraryFileName() + ' as the `library` option or in SESSILE_LIBRARY.';
  if (tried[0].from === 'the `library` option' || tried[0].from === 'SESSILE_LIBRARY') {
    return `sessile: the native library was not found. ${looked} ${build}`;
  }
  const tag = platformTag();
  const have = prebuiltTags();
  return (
    `sessile: this package has no prebuilt native library for ${tag} ` +
    `(it has: ${have.length ? have.join(', ') : 'none'}). ${looked} ${build}`
  );
}

module.exports = { candidates, notFoundMessage, platformTag, prebuiltTags, libraryFileName, developmentCheckout, PACKAGE_DIR };
