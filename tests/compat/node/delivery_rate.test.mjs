// Rate and concurrency limits of push delivery (issue 3, test 4): the steady dispatch rate
// is maxDispatchesPerSecond (±10% over 5 s and more, after the maxBurstSize burst), the
// target never sees more than maxConcurrentDispatches at once (and does see that many), and
// a patch of the rate takes effect while the queue runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call } from './lib/rest.mjs';
import { startTarget, waitFor } from './lib/target.mjs';
import { startDeliveryServer, createQueue, createTask, queueOp, qpath } from './lib/delivery.mjs';

let srv;
let target;

before(async () => {
  srv = await startDeliveryServer();
  target = await startTarget({ script: () => 200 });
});

after(async () => {
  await target?.close();
  await srv?.stop();
  srv?.cleanup();
});

// Creates n tasks on a paused queue (so none goes before all exist), returns their ids.
async function fill(queue, n, prefix) {
  await queueOp(srv.url, queue, 'pause');
  const ids = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}-${String(i).padStart(4, '0')}`;
    ids.push(id);
    await createTask(srv.url, queue, { id, url: `${target.url}/${queue}` });
  }
  return ids;
}

const ofQueue = (queue) => target.requests.filter((r) => r.headers['x-cloudtasks-queuename'] === queue);

// Dispatches per second between arrivals i and j (inclusive) of `recs`.
const rateOf = (recs, i, j) => (j - i) / ((recs[j].t - recs[i].t) / 1000);

test('maxDispatchesPerSecond 20: steady rate within 10% over more than 5 s', async () => {
  const queue = 'rate20';
  const q = await createQueue(srv.url, queue, { rateLimits: { maxDispatchesPerSecond: 20 } });
  assert.equal(q.rateLimits.maxBurstSize, 10);
  const n = 150;
  await fill(queue, n, 'r');
  const t0 = performance.now();
  await queueOp(srv.url, queue, 'resume');
  await waitFor(() => ofQueue(queue).length === n, 20000, { what: `${n} deliveries` });
  const recs = ofQueue(queue);
  assert.equal(new Set(recs.map((r) => r.headers['x-cloudtasks-taskname'])).size, n, 'each task once');
  // The burst: the first 10 go at once.
  const burstSpan = recs[9].t - recs[0].t;
  assert.ok(burstSpan < 500, `the first maxBurstSize=10 went within ${burstSpan} ms`);
  // Steady state: from the 11th arrival on (a refill every 50 ms).
  const first = 10;
  const last = n - 1;
  const span = (recs[last].t - recs[first].t) / 1000;
  const rate = rateOf(recs, first, last);
  console.log(`rate20: burst of 10 in ${burstSpan.toFixed(0)} ms; ${last - first} dispatches in ${span.toFixed(2)} s = ${rate.toFixed(2)}/s; all done ${((recs[last].t - t0) / 1000).toFixed(2)} s after resume`);
  assert.ok(span >= 5, `measured over ${span} s`);
  assert.ok(Math.abs(rate - 20) <= 2, `steady rate ${rate.toFixed(2)}/s, expected 20 ± 10%`);
  // A token bucket allows at most rate + burst dispatches in any one-second window.
  for (let i = first; i < n; i++) {
    let k = i;
    while (k + 1 < n && recs[k + 1].t - recs[i].t < 1000) k++;
    assert.ok(k - i + 1 <= 30, `${k - i + 1} dispatches within one second from arrival ${i}`);
  }
});

test('maxConcurrentDispatches 3: never more than 3 in flight, and 3 is reached', async () => {
  const queue = 'conc3';
  await createQueue(srv.url, queue, { rateLimits: { maxDispatchesPerSecond: 500, maxConcurrentDispatches: 3 } });
  const n = 15;
  await fill(queue, n, 'c');
  const old = { script: target.script };
  target.reset();
  target.script = () => ({ status: 200, delayMs: 200 });
  try {
    await queueOp(srv.url, queue, 'resume');
    await waitFor(() => ofQueue(queue).length === n && ofQueue(queue).every((r) => r.answered), 15000, { what: `${n} deliveries` });
  } finally {
    target.script = old.script;
  }
  const recs = ofQueue(queue);
  // In flight at each arrival, from the target's own records.
  let peak = 0;
  for (const r of recs) {
    const concurrent = recs.filter((o) => o.t <= r.t && o.answered.t > r.t).length;
    peak = Math.max(peak, concurrent);
  }
  assert.ok(target.maxInFlight <= 3, `the target saw ${target.maxInFlight} requests in flight`);
  assert.equal(peak, 3, `peak concurrency ${peak}`);
  assert.equal(target.maxInFlight, 3);
  // 15 tasks, 3 at a time, 200 ms each: about 1 s, not much more.
  const total = recs[n - 1].answered.t - recs[0].t;
  assert.ok(total >= 5 * 200 - 20 && total < 2500, `took ${total} ms`);
});

test('patching maxDispatchesPerSecond takes effect while the queue runs', async () => {
  const queue = 'patched';
  await createQueue(srv.url, queue, { rateLimits: { maxDispatchesPerSecond: 2 } });
  const n = 70;
  await fill(queue, n, 'p');
  await queueOp(srv.url, queue, 'resume');
  // Burst of 10, then 2/s: wait for 5 more (about 2.5 s) and measure the slow rate.
  await waitFor(() => ofQueue(queue).length >= 15, 10000, { what: '15 deliveries' });
  const slow = ofQueue(queue);
  const slowRate = rateOf(slow, 10, 14);
  assert.ok(slowRate > 1.5 && slowRate < 2.5, `rate before the patch ${slowRate.toFixed(2)}/s, expected 2`);
  const patchedAt = performance.now();
  const p = await call(srv.url, 'PATCH', `/v2/${qpath(queue)}?updateMask=rateLimits.maxDispatchesPerSecond`, {
    body: { rateLimits: { maxDispatchesPerSecond: 20 } },
  });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.rateLimits.maxDispatchesPerSecond, 20);
  await waitFor(() => ofQueue(queue).length === n, 15000, { what: `${n} deliveries` });
  const recs = ofQueue(queue);
  const after = recs.filter((r) => r.t > patchedAt + 100);
  const rate = rateOf(after, 0, after.length - 1);
  const span = (after[after.length - 1].t - after[0].t) / 1000;
  console.log(`patched: ${slowRate.toFixed(2)}/s before, ${rate.toFixed(2)}/s after over ${span.toFixed(2)} s (${after.length} dispatches)`);
  assert.ok(after.length >= 45, `${after.length} dispatches after the patch`);
  assert.ok(Math.abs(rate - 20) <= 2, `rate after the patch ${rate.toFixed(2)}/s, expected 20 ± 10%`);
});

test('a 503 with Retry-After holds the task and the whole queue for that long', async () => {
  const queue = 'retry-after';
  await createQueue(srv.url, queue, { retryConfig: { minBackoff: '0.1s', maxBackoff: '0.1s' } });
  const old = target.script;
  target.script = (rec) => {
    if (rec.headers['x-cloudtasks-taskname'] === 'ra' && rec.taskIndex === 0) return { status: 503, headers: { 'Retry-After': '1' } };
    return 200;
  };
  try {
    await createTask(srv.url, queue, { id: 'ra', url: `${target.url}/ra` });
    await waitFor(() => target.byTask('ra')[0]?.answered, 5000, { what: 'the 503' });
    // Measured from the 503 request's arrival: stratus reads the answer after that, so a
    // correct retry is always >= 1 s later. (The target's own 'finish' event can run late
    // under load, which made it an unreliable reference.)
    const answeredAt = target.byTask('ra')[0].t;
    await createTask(srv.url, queue, { id: 'held', url: `${target.url}/held` });
    await waitFor(() => target.byTask('ra').length === 2 && target.byTask('held').length === 1, 5000, { what: 'the retry and the held task' });
    const retryAfter = target.byTask('ra')[1].t - answeredAt;
    const held = target.byTask('held')[0].t - answeredAt;
    console.log(`Retry-After 1: retry ${retryAfter.toFixed(0)} ms, other task ${held.toFixed(0)} ms after the 503`);
    assert.ok(retryAfter >= 1000 - 2 && retryAfter < 1400, `the retry came ${retryAfter} ms after the 503 (minBackoff 0.1 s, Retry-After 1 s)`);
    assert.ok(held >= 1000 - 2 && held < 1400, `a task created during the hold came ${held} ms after the 503`);
  } finally {
    target.script = old;
  }
});
