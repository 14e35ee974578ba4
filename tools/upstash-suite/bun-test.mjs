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

// Bun's toThrow waits for a promise the function returns (and `.resolves`/`.rejects` need
// no await): here such assertions are collected and awaited when the test's body returns.
let pending = [];
const track = (p) => {
  p.catch(() => {}); // settled later, in the test's own wrapper; not an unhandled rejection
  pending.push(p);
  return p;
};

function throwMatcher(received, negate) {
  return (expected) => {
    let result;
    let threw = false;
    let error;
    try {
      result = received();
    } catch (e) {
      threw = true;
      error = e;
    }
    const check = (f) => (negate ? jestExpect(f).not.toThrow(expected) : jestExpect(f).toThrow(expected));
    if (!threw && result && typeof result.then === 'function') {
      track(
        result.then(
          (v) => check(() => v),
          (e) =>
            check(() => {
              throw e;
            }),
        ),
      );
      return undefined;
    }
    return check(
      threw
        ? () => {
            throw error;
          }
        : () => result,
    );
  };
}

function trackAsync(matchers) {
  return new Proxy(matchers, {
    get(t, k) {
      const f = t[k];
      if (typeof f !== 'function') return f;
      return (...args) => track(f.apply(t, args));
    },
  });
}

export function expect(received, ...rest) {
  const m = jestExpect(received, ...rest);
  const isFn = typeof received === 'function';
  return new Proxy(m, {
    get(t, k) {
      if (isFn && (k === 'toThrow' || k === 'toThrowError')) return throwMatcher(received, false);
      if (k === 'resolves' || k === 'rejects') return trackAsync(t[k]);
      if (k === 'not' && isFn) {
        return new Proxy(t.not, {
          get(tn, kn) {
            if (kn === 'toThrow' || kn === 'toThrowError') return throwMatcher(received, true);
            return tn[kn];
          },
        });
      }
      return t[k];
    },
  });
}
Object.setPrototypeOf(expect, jestExpect); // expect.any, expect.objectContaining, ...

function options(o) {
  if (typeof o === 'number') return { timeout: o };
  if (o && typeof o === 'object' && typeof o.timeout === 'number') return { timeout: o.timeout };
  return { timeout: DEFAULT_TIMEOUT_MS };
}

// node:test treats a function declaring two parameters as callback style; Bun's tests take none.
const call = (fn) =>
  fn
    ? async () => {
        pending = [];
        await fn();
        const waiting = pending;
        pending = [];
        await Promise.all(waiting);
      }
    : undefined;

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
