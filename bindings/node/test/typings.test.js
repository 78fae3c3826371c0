'use strict';
// index.d.ts for a TypeScript user who has no express-session types (a
// fastify app, or the engine alone): it imports its Store from
// @types/express-session, an optional peer dependency, so such a project
// must still compile with skipLibCheck (the tsc --init default), and the
// engine's types must still apply. Without skipLibCheck it gets TS2307 for
// that import, as with connect-redis; the README snippets with the types
// installed are checked by `make types` (test/types/).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const PACKAGE = path.resolve(__dirname, '..');
const TSC = path.join(PACKAGE, 'node_modules', '.bin', 'tsc');

function compile(t, source) {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'sessile-typings-'));
  t.after(() => fs.rmSync(project, { recursive: true, force: true }));
  const pkg = path.join(project, 'node_modules', 'sessile');
  fs.mkdirSync(pkg, { recursive: true });
  for (const f of ['package.json', 'index.d.ts']) fs.copyFileSync(path.join(PACKAGE, f), path.join(pkg, f));
  fs.writeFileSync(path.join(project, 'app.ts'), source);
  const args = ['--strict', '--skipLibCheck', '--noEmit', '--module', 'nodenext', '--target', 'es2022', '--types', '', 'app.ts'];
  const r = spawnSync(TSC, args, { cwd: project, encoding: 'utf8' });
  return (r.stdout + r.stderr).trim();
}

test('without @types/express-session the package still type-checks, engine types included', { skip: !fs.existsSync(TSC) && 'no typescript (npm ci)' }, (t) => {
  const ok = `
    import { Engine, SessileStore } from 'sessile';
    const engine = Engine.open(null, { memory: true });
    const key: string = engine.create({ user: 'alice' }, { expiry: 3600 });
    const store = new SessileStore({ engine });
    store.get(key, (err, sess) => console.log(err, sess));
    const owned = Engine.open(null, { memory: true, ownerKey: 'passport.user' });
    const ended: number = owned.endSessionsOf(42, owned.sessionsOf('42')[0].key);
    store.sessionsOf(7n, (err, list) => console.log(err, list && list[0].sid, ended));
  `;
  assert.equal(compile(t, ok), '');
  const wrong = `
    import { Engine } from 'sessile';
    const n: number = Engine.open(null).create();
  `;
  assert.match(compile(t, wrong), /TS2322/);
});
