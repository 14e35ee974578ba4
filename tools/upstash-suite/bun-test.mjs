// Stands in for Bun's `bun:test` module under Node: describe/test/hooks map onto node:test,
// `expect` is Jest's standalone matcher library plus the few matchers Bun adds.
import * as nt from 'node:test';
import { expect as jestExpect } from 'expect';

const DEFAULT_TIMEOUT_MS = 20000; // the suite's own `bun test --timeout 20000`

jestExpect.extend({
  toBeTrue(received) {
    return { pass: received === true, message: () => `expected ${this.utils.printReceived(received)} to be true` };
  },
  toBeFalse(received) {
    return { pass: received === false, message: () => `expected ${this.utils.printReceived(received)} to be false` };
  },
  toStartWith(received, prefix) {
    const pass = typeof received === 'string' && received.startsWith(prefix);
    return { pass, message: () => `expected ${this.utils.printReceived(received)} to start with ${this.utils.printExpected(prefix)}` };
  },
});

export const expect = jestExpect;

function options(o) {
  if (typeof o === 'number') return { timeout: o };
  if (o && typeof o === 'object' && typeof o.timeout === 'number') return { timeout: o.timeout };
  return { timeout: DEFAULT_TIMEOUT_MS };
}

// node:test treats a function declaring two parameters as callback style; Bun's tests take none.
const call = (fn) => (fn ? async () => { await fn(); } : undefined);

// run.sh passes the names excluded for this file (tools/upstash-suite/excluded.txt).
const excluded = new Set((process.env.SUITE_SKIP_NAMES ?? '').split('\n').filter(Boolean));

export function test(name, fn, o) {
  if (excluded.has(String(name))) return nt.test(String(name), { skip: 'excluded (excluded.txt)' }, () => {});
  return nt.test(String(name), options(o), call(fn));
}
test.skip = (name) => nt.test(String(name), { skip: true }, () => {});
test.todo = (name) => nt.test(String(name), { todo: true }, () => {});
test.only = test;
test.if = (cond) => (cond ? test : test.skip);
test.skipIf = (cond) => (cond ? test.skip : test);
export const it = test;

export function describe(name, fn) {
  return nt.describe(String(name), () => fn());
}
describe.skip = (name) => nt.describe(String(name), { skip: true }, () => {});
describe.only = describe;
describe.if = (cond) => (cond ? describe : describe.skip);
describe.skipIf = (cond) => (cond ? describe.skip : describe);

export const beforeAll = (fn) => nt.before(call(fn));
export const afterAll = (fn) => nt.after(call(fn));
export const beforeEach = (fn) => nt.beforeEach(call(fn));
export const afterEach = (fn) => nt.afterEach(call(fn));
