'use strict';
// A node --test reporter for `make test`: writes the lines of
// target/test-results/node-frameworks.txt (the Makefile points
// --test-reporter-destination there), counting test cases (not suites)
// per part of the suite. The spec reporter still prints the details. It
// lives outside test/ so that `node --test test/` does not run it.

const fs = require('node:fs');
const path = require('node:path');

const EXPRESS_SESSION_FILE = 'express-session.test.js';

function expressSessionVersion() {
  try {
    return JSON.parse(fs.readFileSync(require.resolve('express-session/package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** The allowed differences test/express-session.test.js asserts (README.md has the reasons). */
const DIFFERENCES = [
  'reload after a cleared store (the request\'s save fails with SESSION_DELETED instead of recreating the session)',
  'touch keeps the stored cookie (it extends the stored expiry only, as connect-redis does)',
  'all() is an array listed by storage key (as connect-redis returns; MemoryStore returns an object by id)',
  'a maxAge over 400 days keeps the record 400 days',
];

module.exports = async function* frameworks(source) {
  const counts = new Map();
  const bucket = (file) => {
    const name = file && path.basename(file) === EXPRESS_SESSION_FILE ? 'express-session' : 'rest';
    if (!counts.has(name)) counts.set(name, { pass: 0, fail: 0, skip: 0, files: new Set() });
    const c = counts.get(name);
    if (file) c.files.add(path.basename(file));
    return c;
  };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    if (data.details && data.details.type === 'suite') continue;
    // A file with no tests (test/helpers.js) passes as a test named by its
    // path; it is no test case. A file that fails to load still counts.
    if (event.type === 'test:pass' && data.name === data.file) continue;
    const c = bucket(data.file);
    if (event.type === 'test:fail') c.fail++;
    else if (data.skip || data.todo) c.skip++;
    else c.pass++;
  }
  const es = counts.get('express-session') || { pass: 0, fail: 0, skip: 0, files: new Set() };
  const rest = counts.get('rest') || { pass: 0, fail: 0, skip: 0, files: new Set() };
  yield `express-session ${expressSessionVersion()} behaviours (sessile's own tests, test/${EXPRESS_SESSION_FILE}, ` +
    `on the memory engine and on Redis): ${es.pass} passed, ${es.fail} failed` +
    `${es.skip ? `, ${es.skip} skipped` : ''}; allowed differences: ${DIFFERENCES.join('; ')}\n`;
  yield `rest of the node suite (${[...rest.files].sort().join(', ')}): ${rest.pass} passed, ${rest.fail} failed` +
    `${rest.skip ? `, ${rest.skip} skipped` : ''}\n`;
};
