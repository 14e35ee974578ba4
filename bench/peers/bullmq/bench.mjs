#!/usr/bin/env node
// BullMQ peer benchmark for the stratus benchmark harness.
//
//   node bench.mjs --redis-port P --mode e2e|concurrent|delayed --count N
//                  [--concurrency 64] [--rate R --seconds S --delay-ms D]
//                  [--timeout-s 120] --json OUT.json
//
// The Redis server is started by the caller on 127.0.0.1:P. Every run uses a
// fresh queue name and obliterates it at the end. Every wait is bounded; the
// process exits non-zero (after writing the JSON with "ok": false and what was
// reached) if not all jobs completed within the bound.
//
// Modes:
//   e2e        add N jobs (addBulk, chunks of 1000), then start a Worker and
//              time worker start -> last completion.
//   concurrent the Worker runs (ready) before the producer adds N jobs
//              (addBulk, chunks of 100); time first add -> last completion.
//   delayed    add jobs with delay D ms at rate R/s for S s (a 10 ms timer adds
//              the jobs due so far); lateness = processor start -
//              (job.timestamp + job.opts.delay). Total bounded to
//              S + D/1000 + 10 s.

import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { Queue, Worker } from 'bullmq';

const require = createRequire(import.meta.url);
const BULLMQ_VERSION = require('bullmq/package.json').version;

// ---------------------------------------------------------------- arguments
function usage(msg) {
  if (msg) console.error(`bench.mjs: ${msg}`);
  console.error(
    'usage: node bench.mjs --redis-port P --mode e2e|concurrent|delayed --count N\n' +
      '                      [--concurrency 64] [--rate R --seconds S --delay-ms D]\n' +
      '                      [--timeout-s 120] [--redis-host 127.0.0.1] --json OUT.json',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const known = new Set([
    'redis-port', 'redis-host', 'mode', 'count', 'concurrency', 'rate',
    'seconds', 'delay-ms', 'timeout-s', 'json',
  ]);
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') usage();
    if (!a.startsWith('--')) usage(`unexpected argument ${a}`);
    let key = a.slice(2);
    let val;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      val = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else {
      if (i + 1 >= argv.length) usage(`missing value for --${key}`);
      val = argv[++i];
    }
    if (!known.has(key)) usage(`unknown option --${key}`);
    out[key] = val;
  }
  return out;
}

function intArg(args, key, def, min = 1) {
  if (args[key] === undefined) {
    if (def === undefined) usage(`--${key} is required`);
    return def;
  }
  const v = Number(args[key]);
  if (!Number.isInteger(v) || v < min) usage(`--${key} must be an integer >= ${min}`);
  return v;
}

const args = parseArgs(process.argv.slice(2));
const mode = args.mode;
if (!['e2e', 'concurrent', 'delayed'].includes(mode)) usage('--mode must be e2e, concurrent or delayed');
const redisPort = intArg(args, 'redis-port', undefined, 1);
const redisHost = args['redis-host'] ?? '127.0.0.1';
const concurrency = intArg(args, 'concurrency', 64);
const jsonOut = args.json;
if (!jsonOut) usage('--json is required');
const rate = intArg(args, 'rate', 1000);
const seconds = intArg(args, 'seconds', 30);
const delayMs = intArg(args, 'delay-ms', 1000, 0);
let count;
if (mode === 'delayed') {
  count = rate * seconds; // --count is ignored in delayed mode
  if (args.count !== undefined && Number(args.count) !== count) {
    console.error(`bench.mjs: delayed mode: --count ignored, count = rate*seconds = ${count}`);
  }
} else {
  count = intArg(args, 'count', undefined);
}
const boundS =
  mode === 'delayed' ? seconds + delayMs / 1000 + 10 : intArg(args, 'timeout-s', 120);

// ---------------------------------------------------------------- setup
const connection = { host: redisHost, port: redisPort, maxRetriesPerRequest: null };
const queueName = `stratus-bench-${mode}-${process.pid}-${Date.now()}`;
const PAYLOAD = { p: 'x'.repeat(56) }; // JSON.stringify(PAYLOAD).length === 64
const JOB_OPTS = { removeOnComplete: true, removeOnFail: true };

const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, d = 1) => (x == null || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);

// Hard watchdog: if anything (connect, add, close) hangs far past the bound,
// bail out instead of running forever.
const hardLimitMs = (boundS + 60) * 1000;
const watchdog = setTimeout(() => {
  console.error(`bench.mjs: hard watchdog fired after ${hardLimitMs / 1000} s, exiting`);
  process.exit(3);
}, hardLimitMs);

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

const queue = new Queue(queueName, { connection });
// log each distinct connection/queue error once (ioredis retries forever)
const seenErrors = new Set();
function logError(what, e) {
  const k = `${what}: ${e?.message}`;
  if (seenErrors.has(k) || seenErrors.size > 20) return;
  seenErrors.add(k);
  console.error(k);
}
queue.on('error', (e) => logError('queue error', e));
let worker = null;

// completion tracking (events come from the in-process Worker)
let completed = 0;
let failed = 0;
let firstCompletion = null;
let lastCompletion = null;
let allDone;
const allDonePromise = new Promise((r) => (allDone = r));
const lateness = [];

function onCompleted() {
  const t = now();
  if (firstCompletion === null) firstCompletion = t;
  lastCompletion = t;
  completed++;
  if (completed >= count) allDone();
}

function startWorker() {
  const processor =
    mode === 'delayed'
      ? async (job) => {
          const due = job.timestamp + (job.opts?.delay ?? job.delay ?? 0);
          lateness.push(Date.now() - due);
        }
      : async () => {};
  const w = new Worker(queueName, processor, { connection, concurrency, autorun: true });
  w.on('completed', onCompleted);
  w.on('failed', (job, err) => {
    failed++;
    if (failed <= 5) console.error(`job failed: ${err?.message}`);
  });
  w.on('error', (e) => logError('worker error', e));
  return w;
}

function jobs(n) {
  const a = new Array(n);
  for (let i = 0; i < n; i++) a[i] = { name: 'bench', data: PAYLOAD, opts: JOB_OPTS };
  return a;
}

async function produce(n, chunk, deadline) {
  let added = 0;
  while (added < n && now() < deadline) {
    const k = Math.min(chunk, n - added);
    await queue.addBulk(jobs(k));
    added += k;
  }
  return added;
}

// resolves true when all completed, false at the deadline
async function waitAll(deadline) {
  if (completed >= count) return true;
  let t;
  const res = await Promise.race([
    allDonePromise.then(() => true),
    new Promise((r) => (t = setTimeout(() => r(false), Math.max(0, deadline - now())))),
  ]);
  clearTimeout(t);
  return res;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

// ---------------------------------------------------------------- modes
const result = {
  peer: 'bullmq',
  version: BULLMQ_VERSION,
  mode,
  count,
  concurrency,
  enqueue_per_s: null,
  process_per_s: null,
  end_to_end_per_s: null,
  duration_s: null,
};

// CPU seconds so far of this process (producer and worker both) and of redis-server (INFO cpu),
// so that e2e mode can split each one's cost between the enqueue and the process phase.
async function cpuMark() {
  const c = process.cpuUsage();
  let redis = null;
  try {
    const info = await (await queue.getBackend().client).info('cpu');
    const f = (k) => Number((info.match(new RegExp(`${k}:([\\d.]+)`)) ?? [])[1]);
    redis = f('used_cpu_sys') + f('used_cpu_user');
  } catch (e) {
    logError('redis INFO cpu', e);
  }
  return { node: (c.user + c.system) / 1e6, redis };
}

function cpuPerJobUs(a, b, n) {
  const us = (x, y) => (x == null || y == null || !n ? null : round(((y - x) * 1e6) / n));
  return { node: us(a.node, b.node), redis: us(a.redis, b.redis) };
}

async function runE2E() {
  const deadline = now() + boundS * 1000;
  const c0 = await cpuMark();
  const t0 = now();
  const added = await produce(count, 1000, deadline);
  const tEnq = now();
  const c1 = await cpuMark();
  result.enqueued = added;
  result.enqueue_per_s = round(added / ((tEnq - t0) / 1000));
  const tw = now();
  worker = startWorker();
  const ok = added === count && (await waitAll(deadline));
  const tEnd = ok ? lastCompletion : now();
  result.process_per_s = added === count ? round(completed / ((tEnd - tw) / 1000)) : null;
  result.end_to_end_per_s = round(completed / ((tEnd - t0) / 1000));
  result.duration_s = round((tEnd - t0) / 1000, 3);
  const c2 = await cpuMark();
  result.cpu_us_per_job = { enqueue: cpuPerJobUs(c0, c1, added), process: cpuPerJobUs(c1, c2, completed) };
  return ok;
}

async function runConcurrent() {
  worker = startWorker();
  await withTimeout(worker.waitUntilReady(), 10000, 'worker connect');
  const deadline = now() + boundS * 1000;
  const t0 = now();
  const added = await produce(count, 100, deadline);
  const tEnq = now();
  result.enqueued = added;
  result.enqueue_per_s = round(added / ((tEnq - t0) / 1000));
  const ok = added === count && (await waitAll(deadline));
  const tEnd = ok ? lastCompletion : now();
  // producer and worker overlap: processing rate is measured over the same
  // first-add -> last-completion window
  result.end_to_end_per_s = round(completed / ((tEnd - t0) / 1000));
  result.process_per_s = result.end_to_end_per_s;
  result.duration_s = round((tEnd - t0) / 1000, 3);
  return ok;
}

async function runDelayed() {
  worker = startWorker();
  await withTimeout(worker.waitUntilReady(), 10000, 'worker connect');
  const t0 = now();
  const deadline = t0 + boundS * 1000;
  let added = 0;
  let inflight = false;
  let addError = null;
  let tLastAdd = t0;
  const opts = { ...JOB_OPTS, delay: delayMs };
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = now() - t0;
      if (added >= count || addError || now() > deadline) {
        clearInterval(timer);
        resolve();
        return;
      }
      if (inflight) return; // previous tick's addBulk still running; catch up next tick
      const due = Math.min(count, Math.floor((rate * elapsed) / 1000));
      const k = due - added;
      if (k <= 0) return;
      inflight = true;
      const batch = new Array(k);
      for (let i = 0; i < k; i++) batch[i] = { name: 'bench', data: PAYLOAD, opts };
      queue
        .addBulk(batch)
        .then(() => {
          added += k;
          tLastAdd = now();
        })
        .catch((e) => (addError = e))
        .finally(() => (inflight = false));
    }, 10);
  });
  // let a still-running addBulk settle (bounded by the deadline)
  while (inflight && now() < deadline) await sleep(5);
  if (addError) console.error(`addBulk failed: ${addError.message}`);
  result.enqueued = added;
  result.enqueue_per_s = round(added / ((tLastAdd - t0) / 1000));
  const ok = added === count && (await waitAll(deadline));
  const tEnd = ok ? lastCompletion : now();
  result.process_per_s =
    firstCompletion !== null && lastCompletion > firstCompletion
      ? round(completed / ((lastCompletion - firstCompletion) / 1000))
      : null;
  result.end_to_end_per_s = round(completed / ((tEnd - t0) / 1000));
  result.duration_s = round((tEnd - t0) / 1000, 3);
  result.rate = rate;
  result.seconds = seconds;
  result.delay_ms = delayMs;
  const s = lateness.slice().sort((a, b) => a - b);
  result.lateness_ms = {
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1] : null,
    count: s.length,
  };
  return ok;
}

// ---------------------------------------------------------------- main
let ok = false;
let fatal = null;
let connected = false;
try {
  await withTimeout(queue.waitUntilReady(), 10000, `connect to redis ${redisHost}:${redisPort}`);
  connected = true;
  if (mode === 'e2e') ok = await runE2E();
  else if (mode === 'concurrent') ok = await runConcurrent();
  else ok = await runDelayed();
} catch (e) {
  fatal = e;
  console.error(`bench.mjs: ${e.message}`);
}

result.completed = completed;
result.failed = failed;
result.ok = ok && failed === 0;
result.bound_s = boundS;
result.queue = queueName;
if (fatal) result.error = fatal.message;

// cleanup (bounded): stop the worker, obliterate the queue, close connections
try {
  if (worker) await withTimeout(worker.close(!connected), 15000, 'worker.close');
  if (connected) await withTimeout(queue.obliterate({ force: true }), 15000, 'queue.obliterate');
} catch (e) {
  console.error(`cleanup: ${e.message}`);
}
try {
  await withTimeout(queue.close(), 5000, 'queue.close');
} catch (e) {
  console.error(`cleanup: ${e.message}`);
}

writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');

const lat = result.lateness_ms
  ? ` lateness_ms p50=${result.lateness_ms.p50} p90=${result.lateness_ms.p90} p99=${result.lateness_ms.p99} max=${result.lateness_ms.max} n=${result.lateness_ms.count}`
  : '';
console.log(
  `bullmq ${BULLMQ_VERSION} mode=${mode} count=${count} conc=${concurrency} ` +
    `enqueue/s=${result.enqueue_per_s} process/s=${result.process_per_s} ` +
    `e2e/s=${result.end_to_end_per_s} duration_s=${result.duration_s}${lat} ` +
    `completed=${completed}/${count}${result.ok ? '' : ' FAILED'}`,
);

clearTimeout(watchdog);
const code = result.ok ? 0 : 1;
process.exitCode = code;
// connections are closed above; this is only a safety net should a handle linger
setTimeout(() => process.exit(code), 5000).unref();
