// Queue and task controls on push delivery (issue 3, test 5): pause, resume, purge,
// tasks.run, tasks.delete of a scheduled task, and no task before its scheduleTime.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call, listTaskNames } from './lib/rest.mjs';
import { startTarget, waitFor } from './lib/target.mjs';
import { startDeliveryServer, createQueue, createTask, getTask, queueOp, qpath, tpath, msOf, metric } from './lib/delivery.mjs';

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

const ofQueue = (queue) => target.requests.filter((r) => r.headers['x-cloudtasks-queuename'] === queue);
// The queue's series in /metrics: the runner's depth (tasks it holds, in flight included),
// attempts in flight, and attempts started (0 before the first).
async function runnerState(base, queue) {
  const m = (await call(base, 'GET', '/metrics')).text;
  const label = { queue: qpath(queue) };
  return {
    depth: metric(m, 'stratus_queue_depth', label),
    inFlight: metric(m, 'stratus_queue_in_flight', label),
    dispatched: metric(m, 'stratus_tasks_dispatched_total', label) ?? 0,
  };
}

test('a paused queue dispatches nothing but accepts tasks; resume delivers them', async () => {
  const queue = 'paused';
  await createQueue(srv.url, queue);
  const paused = await queueOp(srv.url, queue, 'pause');
  assert.equal(paused.state, 'PAUSED');
  for (let i = 0; i < 5; i++) await createTask(srv.url, queue, { id: `p${i}`, url: `${target.url}/p` });
  assert.equal((await listTaskNames(srv.url, qpath(queue))).length, 5, 'the tasks were accepted');
  // The runner holds all 5 (each was pumped as it arrived, the queue paused) and started none.
  let state;
  await waitFor(async () => {
    state = await runnerState(srv.url, queue);
    return state.depth === 5 && state.inFlight === 0;
  }, 5000, { what: 'the runner to hold the 5 due tasks' });
  assert.equal(state.dispatched, 0, 'nothing dispatched while paused');
  assert.equal(ofQueue(queue).length, 0, 'nothing dispatched while paused');
  const t = await getTask(srv.url, queue, 'p0');
  assert.equal(t.dispatchCount ?? 0, 0);
  const resumed = await queueOp(srv.url, queue, 'resume');
  assert.equal(resumed.state, 'RUNNING');
  await waitFor(() => ofQueue(queue).length === 5, 5000, { what: 'the 5 tasks after resume' });
  assert.deepEqual(ofQueue(queue).map((r) => r.headers['x-cloudtasks-taskname']).sort(), ['p0', 'p1', 'p2', 'p3', 'p4']);
  await waitFor(async () => (await listTaskNames(srv.url, qpath(queue))).length === 0, 5000, { what: 'the queue to empty' });
});

test('purge drops the tasks created before it; later tasks still arrive', async () => {
  const queue = 'purged';
  await createQueue(srv.url, queue);
  const oldDue = Date.now() + 1000;
  for (let i = 0; i < 5; i++) await createTask(srv.url, queue, { id: `old${i}`, url: `${target.url}/old`, scheduleMs: oldDue });
  // Paused-and-due tasks are dropped too.
  await queueOp(srv.url, queue, 'pause');
  for (let i = 0; i < 3; i++) await createTask(srv.url, queue, { id: `oldp${i}`, url: `${target.url}/old` });
  await queueOp(srv.url, queue, 'resume');
  // (They may go between resume and purge; only the scheduled ones are certain to be dropped.)
  const purged = await queueOp(srv.url, queue, 'purge');
  assert.ok(purged.purgeTime, JSON.stringify(purged));
  await waitFor(async () => (await listTaskNames(srv.url, qpath(queue))).length === 0, 5000, { what: 'the purge to empty the queue' });
  for (let i = 0; i < 3; i++) await createTask(srv.url, queue, { id: `new${i}`, url: `${target.url}/new` });
  const newDue = oldDue + 200;
  for (let i = 0; i < 2; i++) await createTask(srv.url, queue, { id: `newl${i}`, url: `${target.url}/new`, scheduleMs: newDue });
  // Wait until the later tasks arrived, which is after the purged ones were due.
  await waitFor(() => ofQueue(queue).filter((r) => r.url === '/new').length === 5, 5000, { what: 'the 5 tasks created after the purge' });
  assert.ok(Date.now() > oldDue + 150);
  const old = ofQueue(queue).filter((r) => r.headers['x-cloudtasks-taskname'].startsWith('old') && !r.headers['x-cloudtasks-taskname'].startsWith('oldp'));
  assert.deepEqual(old.map((r) => r.headers['x-cloudtasks-taskname']), [], 'purged tasks never arrive');
});

test('tasks.run delivers a far-future task at once, even on a paused queue', async () => {
  const queue = 'run';
  await createQueue(srv.url, queue);
  await queueOp(srv.url, queue, 'pause');
  const far = Date.now() + 3600_000;
  await createTask(srv.url, queue, { id: 'far', url: `${target.url}/far`, scheduleMs: far });
  await createTask(srv.url, queue, { id: 'other', url: `${target.url}/other`, scheduleMs: Date.now() });
  const t0 = performance.now();
  const r = await call(srv.url, 'POST', `/v2/${tpath(queue, 'far')}:run`, { body: {} });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, tpath(queue, 'far'));
  await waitFor(() => target.byTask('far').length === 1, 3000, { what: 'the run task' });
  const latency = target.byTask('far')[0].t - t0;
  assert.ok(latency < 1000, `delivered ${latency} ms after tasks.run`);
  await waitFor(async () => (await getTask(srv.url, queue, 'far')) === null, 3000, { what: 'the run task removed after success' });
  // The queue stays paused for everything else.
  assert.equal(target.byTask('other').length, 0);
  assert.equal((await call(srv.url, 'GET', `/v2/${qpath(queue)}`)).json.state, 'PAUSED');

  // On a running queue as well.
  await queueOp(srv.url, queue, 'resume');
  await createTask(srv.url, queue, { id: 'far2', url: `${target.url}/far`, scheduleMs: far });
  const r2 = await call(srv.url, 'POST', `/v2/${tpath(queue, 'far2')}:run`, { body: {} });
  assert.equal(r2.status, 200, r2.text);
  await waitFor(() => target.byTask('far2').length === 1, 3000, { what: 'the second run task' });
});

test('a deleted scheduled task never arrives', async () => {
  const queue = 'deleted';
  await createQueue(srv.url, queue);
  const due = Date.now() + 800;
  await createTask(srv.url, queue, { id: 'doomed', url: `${target.url}/doomed`, scheduleMs: due });
  await createTask(srv.url, queue, { id: 'kept', url: `${target.url}/kept`, scheduleMs: due });
  const d = await call(srv.url, 'DELETE', `/v2/${tpath(queue, 'doomed')}`);
  assert.equal(d.status, 200, d.text);
  // The companion due at the same time arrives; the deleted one does not.
  await waitFor(() => target.byTask('kept').length === 1, 5000, { what: 'the kept task' });
  await waitFor(async () => (await getTask(srv.url, queue, 'kept')) === null, 3000, { what: 'the kept task done' });
  assert.equal(target.byTask('doomed').length, 0);
});

test('no task arrives before its scheduleTime', async () => {
  const queue = 'on-time';
  await createQueue(srv.url, queue);
  const base = Date.now();
  const due = {};
  for (let i = 0; i < 8; i++) {
    const id = `ot${i}`;
    due[id] = base + 500 + i * 140 + (i % 3) * 7;
    const t = await createTask(srv.url, queue, { id, url: `${target.url}/ot`, scheduleMs: due[id] });
    assert.equal(msOf(t.scheduleTime), due[id]);
  }
  await waitFor(() => ofQueue(queue).length === 8, 5000, { what: 'the 8 scheduled tasks' });
  const report = ofQueue(queue).map((r) => ({ id: r.headers['x-cloudtasks-taskname'], late: r.wall - due[r.headers['x-cloudtasks-taskname']] }));
  for (const { id, late } of report) {
    assert.ok(late >= 0, `${id} arrived ${-late} ms before its scheduleTime: ${JSON.stringify(report)}`);
    assert.ok(late < 500, `${id} arrived ${late} ms late: ${JSON.stringify(report)}`);
  }
  // In schedule order.
  assert.deepEqual(report.map((r) => r.id), Object.keys(due));
});

test('tasks.run on a failing task: it goes at once, and a failure reschedules it to run time + retry delay', async () => {
  const queue = 'run-failing';
  await createQueue(srv.url, queue, { retryConfig: { minBackoff: '10s', maxBackoff: '100s', maxDoublings: 5 } });
  const old = target.script;
  target.script = (rec) => (rec.headers['x-cloudtasks-taskname'] === 'rf' ? 500 : 200);
  try {
    await createTask(srv.url, queue, { id: 'rf', url: `${target.url}/rf` });
    const t1 = await waitFor(async () => {
      const g = await getTask(srv.url, queue, 'rf');
      return g?.responseCount === 1 ? g : null;
    }, 5000, { what: 'the first failed attempt' });
    // Retry 0 waits minBackoff: 10 s after the first attempt.
    const wait1 = msOf(t1.scheduleTime) - msOf(t1.lastAttempt.responseTime);
    assert.ok(Math.abs(wait1 - 10000) < 50, `first retry ${wait1} ms after the attempt`);
    const runAt = Date.now();
    const r = await call(srv.url, 'POST', `/v2/${tpath(queue, 'rf')}:run`, { body: {} });
    assert.equal(r.status, 200, r.text);
    await waitFor(() => target.byTask('rf').length === 2, 3000, { what: 'the run attempt' });
    assert.equal(target.byTask('rf')[1].headers['x-cloudtasks-taskretrycount'], '1');
    const t2 = await waitFor(async () => {
      const g = await getTask(srv.url, queue, 'rf');
      return g?.responseCount === 2 ? g : null;
    }, 5000, { what: 'the run attempt recorded' });
    // Retry 1 waits 2 x minBackoff from the run attempt.
    const wait2 = msOf(t2.scheduleTime) - msOf(t2.lastAttempt.responseTime);
    assert.ok(Math.abs(wait2 - 20000) < 50, `after tasks.run the next attempt is ${wait2} ms on, expected 20 s`);
    assert.ok(msOf(t2.lastAttempt.dispatchTime) - runAt < 1000);
  } finally {
    target.script = old;
    await call(srv.url, 'DELETE', `/v2/${tpath(queue, 'rf')}`);
  }
});

test('tasks.run of a task in flight does not leak onto a later task of the same name', async () => {
  // With a zero de-dup window the name can be reused at once once the task succeeded.
  const other = await startDeliveryServer({ args: ['--task-dedup-window', '0s'] });
  const slow = await startTarget({ script: () => ({ status: 200, delayMs: 400 }) });
  try {
    const queue = 'run-in-flight';
    await createQueue(other.url, queue);
    await createTask(other.url, queue, { id: 'x', url: `${slow.url}/first` });
    await waitFor(() => slow.requests.length === 1, 5000, { what: 'the first delivery' });
    // tasks.run while the attempt is in flight; that attempt then succeeds.
    const r = await call(other.url, 'POST', `/v2/${tpath(queue, 'x')}:run`, { body: {} });
    assert.equal(r.status, 200, r.text);
    await waitFor(async () => slow.requests[0].answered && (await getTask(other.url, queue, 'x')) === null, 5000, { what: 'the success' });
    assert.equal(slow.requests.length, 1, 'a successful task is not run again');
    // A new task under the same name, due in an hour: it must wait for its time.
    await createTask(other.url, queue, { id: 'x', url: `${slow.url}/second`, scheduleMs: Date.now() + 3600_000 });
    // The runner holds the new task, pumped at its arrival, and did not start it.
    let state;
    await waitFor(async () => {
      state = await runnerState(other.url, queue);
      return state.depth === 1 && state.inFlight === 0;
    }, 5000, { what: 'the runner to hold the new task' });
    assert.equal(state.dispatched, 1, 'the new task went out before its scheduleTime');
    assert.deepEqual(slow.requests.map((q) => q.url), ['/first'], 'the new task went out before its scheduleTime');
  } finally {
    await slow.close();
    await other.stop();
    other.cleanup();
  }
});

test('a task deleted mid-dispatch and re-created under the same name is delivered', async () => {
  // With a zero de-dup window the name can be reused while the old attempt is still out.
  const other = await startDeliveryServer({ args: ['--task-dedup-window', '0s'] });
  const slow = await startTarget({ script: (rec) => ({ status: 200, delayMs: rec.url === '/first' ? 500 : 0 }) });
  try {
    const queue = 'delete-in-flight';
    await createQueue(other.url, queue);
    await createTask(other.url, queue, { id: 'x', url: `${slow.url}/first` });
    await waitFor(() => slow.requests.length === 1, 5000, { what: 'the first delivery' });
    const d = await call(other.url, 'DELETE', `/v2/${tpath(queue, 'x')}`);
    assert.equal(d.status, 200, d.text);
    await createTask(other.url, queue, { id: 'x', url: `${slow.url}/second` });
    // The old attempt's outcome must not apply to the new task: the new task is delivered.
    await waitFor(() => slow.requests.some((r) => r.url === '/second'), 5000, {
      what: () => `the re-created task to be delivered (arrivals: ${slow.requests.map((r) => r.url)})`,
    });
    await waitFor(async () => (await getTask(other.url, queue, 'x')) === null, 5000, { what: 'the new task done' });
  } finally {
    await slow.close();
    await other.stop();
    other.cleanup();
  }
});
