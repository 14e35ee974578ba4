// Retry schedule of push delivery (issue 3, test 1): arrival intervals follow Google's
// backoff formula (sub-second backoffs), and the maxAttempts, maxRetryDuration and -1 stop
// rules. Counters in tasks.get move with the attempts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call } from './lib/rest.mjs';
import { startTarget, waitFor } from './lib/target.mjs';
import { startDeliveryServer, createQueue, createTask, getTask, listDeadLetters, qpath, tpath, metric } from './lib/delivery.mjs';

let srv;
let target;

before(async () => {
  srv = await startDeliveryServer();
  target = await startTarget();
});

after(async () => {
  await target?.close();
  await srv?.stop();
  srv?.cleanup();
});

// Google's formula: delay for retry k (k = 0 first) with min, max, D doublings.
function backoff(min, max, d, k) {
  const v = k <= d ? min * 2 ** k : min * 2 ** d * (k - d + 1);
  return Math.min(v, max);
}

async function checkSchedule(queue, { min, max, doublings, failures }) {
  await createQueue(srv.url, queue, {
    retryConfig: { maxAttempts: 100, minBackoff: `${min}s`, maxBackoff: `${max}s`, maxDoublings: doublings },
  });
  const id = `${queue}-t`;
  // This task's attempts: `failures` 503s, then 200.
  const statuses = { [id]: [...Array(failures).fill(503), 200] };
  target.script = (rec) => statuses[rec.headers['x-cloudtasks-taskname']]?.[rec.taskIndex] ?? 200;
  await createTask(srv.url, queue, { id, url: `${target.url}/retry/${queue}` });
  await waitFor(() => target.byTask(id).length === failures + 1 && target.byTask(id)[failures].answered, 20000, {
    what: `${failures + 1} attempts of ${id}`,
  });
  const arrivals = target.byTask(id);
  const report = [];
  for (let k = 0; k < failures; k++) {
    const expected = backoff(min, max, doublings, k) * 1000;
    const actual = arrivals[k + 1].t - arrivals[k].t;
    report.push({ k, expected, actual: Math.round(actual * 10) / 10 });
  }
  for (const { k, expected, actual } of report) {
    const tol = 40 + 0.15 * expected;
    assert.ok(actual >= expected - 5, `retry ${k}: arrived after ${actual} ms, earlier than the backoff ${expected} ms\n${JSON.stringify(report)}`);
    assert.ok(Math.abs(actual - expected) <= tol, `retry ${k}: interval ${actual} ms, expected ${expected} ± ${tol} ms\n${JSON.stringify(report)}`);
  }
  // Success removes the task.
  await waitFor(async () => (await getTask(srv.url, queue, id)) === null, 5000, { what: `${id} removed after success` });
  assert.equal(target.byTask(id).length, failures + 1);
  // The attempts in /metrics.
  const m = (await call(srv.url, 'GET', '/metrics')).text;
  const queueLabel = { queue: qpath(queue) };
  assert.equal(metric(m, 'stratus_tasks_dispatched_total', queueLabel), failures + 1, m);
  assert.equal(metric(m, 'stratus_tasks_succeeded_total', queueLabel), 1);
  assert.equal(metric(m, 'stratus_tasks_retried_total', queueLabel), failures);
  assert.equal(metric(m, 'stratus_task_attempts_failed_total', { ...queueLabel, class: '5xx' }), failures);
  assert.equal(metric(m, 'stratus_dispatch_lateness_seconds_count', queueLabel), failures + 1);
  assert.equal(metric(m, 'stratus_queue_depth', queueLabel), 0);
}

test('retry intervals follow the formula: min 0.1s, max 1s, maxDoublings 2', async () => {
  await checkSchedule('sched-a', { min: 0.1, max: 1, doublings: 2, failures: 5 }); // 100 200 400 800 1000
});

test('retry intervals follow the formula: min 0.05s, max 0.4s, maxDoublings 1', async () => {
  await checkSchedule('sched-b', { min: 0.05, max: 0.4, doublings: 1, failures: 6 }); // 50 100 200 300 400 400
});

test('maxAttempts: the task stops after exactly maxAttempts attempts and becomes a dead letter', async () => {
  const queue = 'max-attempts';
  await createQueue(srv.url, queue, { retryConfig: { maxAttempts: 3, minBackoff: '0.05s', maxBackoff: '0.1s' } });
  const id = 'ma-t';
  target.script = (rec) => (rec.headers['x-cloudtasks-taskname'] === id ? 500 : 200);
  await createTask(srv.url, queue, { id, url: `${target.url}/ma` });
  const dead = await waitFor(async () => (await listDeadLetters(srv.url, queue)).find((d) => d.task.name === tpath(queue, id)), 10000, {
    what: 'the dead letter',
  });
  assert.equal(await getTask(srv.url, queue, id), null, 'a dead-lettered task leaves the queue');
  assert.equal(target.byTask(id).length, 3, 'exactly maxAttempts attempts');
  assert.equal(dead.reason, 'retries exhausted after 3 attempts');
  assert.equal(dead.responseStatus, 500);
  assert.equal(dead.task.dispatchCount, 3);
  assert.equal(dead.task.responseCount, 3);
  assert.deepEqual(
    target.byTask(id).map((r) => r.headers['x-cloudtasks-taskretrycount']),
    ['0', '1', '2'],
  );
});

test('maxRetryDuration: with maxAttempts 2, retries go on until the duration has passed', async () => {
  const queue = 'max-duration';
  const durationMs = 1000;
  await createQueue(srv.url, queue, {
    retryConfig: { maxAttempts: 2, maxRetryDuration: '1s', minBackoff: '0.1s', maxBackoff: '0.2s', maxDoublings: 1 },
  });
  const id = 'md-t';
  target.script = (rec) => (rec.headers['x-cloudtasks-taskname'] === id ? 503 : 200);
  await createTask(srv.url, queue, { id, url: `${target.url}/md` });
  const dead = await waitFor(async () => (await listDeadLetters(srv.url, queue)).find((d) => d.task.name === tpath(queue, id)), 10000, {
    what: 'the dead letter',
  });
  const arrivals = target.byTask(id);
  const n = arrivals.length;
  const rel = arrivals.map((r) => Math.round(r.t - arrivals[0].t));
  // 0, 100, 300, 500, 700, 900, 1100 ms: about 7 attempts, well past maxAttempts.
  assert.ok(n > 2, `retries continued past maxAttempts while maxRetryDuration had not passed: ${n} attempts at ${rel}`);
  // The last attempt ended at or after first + 1 s; the one before it ended before that.
  const lastEnd = arrivals[n - 1].answered.t - arrivals[0].t;
  const prevEnd = arrivals[n - 2].answered.t - arrivals[0].t;
  assert.ok(lastEnd >= durationMs - 30, `stopped early: last attempt ended at ${lastEnd} ms (attempts at ${rel})`);
  assert.ok(prevEnd < durationMs + 30, `went on after the duration had passed: attempt ${n - 1} ended at ${prevEnd} ms (attempts at ${rel})`);
  assert.ok(n >= 5 && n <= 8, `expected about 7 attempts, got ${n} at ${rel}`);
  assert.equal(dead.reason, `retries exhausted after ${n} attempts`);
  assert.equal(dead.task.dispatchCount, n);
});

test('maxAttempts -1: unlimited retries until the task is deleted', async () => {
  const queue = 'unlimited';
  await createQueue(srv.url, queue, { retryConfig: { maxAttempts: -1, minBackoff: '0.02s', maxBackoff: '0.05s' } });
  const q = await call(srv.url, 'GET', `/v2/${qpath(queue)}`);
  assert.equal(q.json.retryConfig.maxAttempts, -1);
  const id = 'un-t';
  target.script = (rec) => (rec.headers['x-cloudtasks-taskname'] === id ? 500 : 200);
  await createTask(srv.url, queue, { id, url: `${target.url}/un` });
  await waitFor(() => target.byTask(id).length >= 12, 10000, { what: '12 attempts' });
  const t = await getTask(srv.url, queue, id);
  assert.ok(t, 'the task is still there after 12 failed attempts');
  assert.ok(t.dispatchCount >= 12, JSON.stringify(t));
  assert.equal((await listDeadLetters(srv.url, queue)).length, 0);
  const del = await call(srv.url, 'DELETE', `/v2/${tpath(queue, id)}`);
  assert.equal(del.status, 200, del.text);
  const atDelete = target.byTask(id).length;
  // The runner lets go of the task (its depth counts an attempt in flight at the delete, which
  // may still arrive): once it holds nothing, no attempt can follow.
  const label = { queue: qpath(queue) };
  let m;
  await waitFor(async () => {
    m = (await call(srv.url, 'GET', '/metrics')).text;
    return metric(m, 'stratus_queue_depth', label) === 0;
  }, 5000, { what: 'the runner to drop the deleted task' });
  assert.ok(target.byTask(id).length <= atDelete + 1, `attempts after delete: ${target.byTask(id).length - atDelete}`);
  assert.equal(metric(m, 'stratus_tasks_dispatched_total', label), target.byTask(id).length, 'every attempt arrived');
  assert.equal(await getTask(srv.url, queue, id), null);
  assert.equal((await listDeadLetters(srv.url, queue)).length, 0, 'a deleted task is not a dead letter');
});

test('tasks.get shows dispatchCount, responseCount and lastAttempt during retries', async () => {
  const queue = 'counters';
  await createQueue(srv.url, queue, { retryConfig: { maxAttempts: 100, minBackoff: '0.4s', maxBackoff: '0.4s' } });
  const id = 'ct-t';
  const during = [];
  target.script = async (rec) => {
    if (rec.headers['x-cloudtasks-taskname'] !== id) return 200;
    // While the attempt is in flight: it is counted as dispatched, not yet as responded.
    during.push(await getTask(srv.url, queue, id));
    return rec.taskIndex < 3 ? 503 : 200;
  };
  await createTask(srv.url, queue, { id, url: `${target.url}/ct` });
  for (let k = 1; k <= 3; k++) {
    // Between attempt k and k + 1 (0.4 s apart): the failed attempt is recorded.
    const t = await waitFor(async () => {
      const g = await getTask(srv.url, queue, id);
      return g && g.responseCount === k ? g : null;
    }, 5000, { what: `responseCount ${k}` });
    assert.equal(t.dispatchCount, k, JSON.stringify(t));
    assert.equal(t.responseCount, k);
    assert.ok(t.firstAttempt?.dispatchTime, JSON.stringify(t));
    assert.ok(t.lastAttempt?.dispatchTime && t.lastAttempt?.responseTime && t.lastAttempt?.scheduleTime, JSON.stringify(t));
    assert.equal(t.lastAttempt.responseStatus?.code, 14, `503 maps to UNAVAILABLE: ${JSON.stringify(t.lastAttempt)}`);
  }
  await waitFor(async () => (await getTask(srv.url, queue, id)) === null, 5000, { what: 'success removes the task' });
  assert.equal(during.length, 4);
  during.forEach((t, i) => {
    assert.equal(t.dispatchCount, i + 1, `in flight, attempt ${i + 1}: ${JSON.stringify(t)}`);
    assert.equal(t.responseCount ?? 0, i, `in flight, attempt ${i + 1}: ${JSON.stringify(t)}`);
  });
});
