// Crash safety of push delivery (issue 3, test 7): kill -9 the server while it delivers N
// acknowledged tasks to a slow target, restart it on the same data dir, and check that every
// task was delivered with a 2xx at least once, that no task whose success was recorded
// before the crash went out again (duplicates only among the deliveries in flight), and
// that attempt counts survived. Prints `duplicates: N`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { listTaskNames } from './lib/rest.mjs';
import { startTarget, waitFor } from './lib/target.mjs';
import { startDeliveryServer, createQueue, createTask, getTask, queueOp, qpath } from './lib/delivery.mjs';

const N = 300;
const CONCURRENCY = 5;
const QUEUE = 'crash';
const SIDE = 'side';
const ids = Array.from({ length: N }, (_, i) => `c${String(i).padStart(4, '0')}`);

let srv;
let target;

after(async () => {
  await target?.close();
  if (srv) {
    await srv.stop();
    srv.cleanup();
  }
});

test('kill -9 mid-delivery: every acknowledged task is delivered, duplicates only in flight', async () => {
  // Every crash-queue delivery takes 50 ms and succeeds; side-queue tasks fail (503) first.
  target = await startTarget({
    script: (rec) => {
      if (rec.headers['x-cloudtasks-queuename'] === SIDE) return rec.taskIndex === 0 ? 503 : 200;
      return { status: 200, delayMs: 50 };
    },
  });
  srv = await startDeliveryServer();

  // Side queue: 4 tasks with one failed attempt each, then paused (their counts must survive).
  await createQueue(srv.url, SIDE, { retryConfig: { minBackoff: '2s', maxBackoff: '2s' } });
  for (let i = 0; i < 4; i++) await createTask(srv.url, SIDE, { id: `s${i}`, url: `${target.url}/side` });
  await waitFor(async () => {
    for (let i = 0; i < 4; i++) if (((await getTask(srv.url, SIDE, `s${i}`))?.responseCount ?? 0) < 1) return false;
    return true;
  }, 5000, { what: 'one failed attempt of each side task' });
  await queueOp(srv.url, SIDE, 'pause');
  // (The retries are 2 s away: the pause comes well before them.)
  const sideBefore = Object.fromEntries([0, 1, 2, 3].map((i) => [`s${i}`, target.byTask(`s${i}`).length]));

  // Crash queue: N tasks acknowledged while paused, then delivered 5 at a time.
  await createQueue(srv.url, QUEUE, { rateLimits: { maxDispatchesPerSecond: 500, maxConcurrentDispatches: CONCURRENCY } });
  await queueOp(srv.url, QUEUE, 'pause');
  for (const id of ids) await createTask(srv.url, QUEUE, { id, url: `${target.url}/crash/${id}` });
  const ofQueue = () => target.requests.filter((r) => r.headers['x-cloudtasks-queuename'] === QUEUE);
  await queueOp(srv.url, QUEUE, 'resume');

  // Mid-delivery: a third done.
  await waitFor(() => ofQueue().filter((r) => r.answered?.status === 200).length >= N / 3, 20000, { what: `${N / 3} deliveries` });
  // The tasks whose success is recorded are gone from the queue; take that set, then kill.
  const listed = new Set((await listTaskNames(srv.url, qpath(QUEUE))).map((n) => n.split('/').pop()));
  const recordedDone = ids.filter((id) => !listed.has(id));
  // The server keeps dispatching until the signal lands, and requests it wrote just before
  // dying can reach the target after the exit is seen: the first run's deliveries are all
  // those recorded once the target has seen every connection close.
  const exit = await srv.kill();
  assert.equal(exit.signal, 'SIGKILL');
  await waitFor(() => ofQueue().every((r) => r.answered), 2000, { what: 'the target to see the connections close' });
  const deliveredAtKill = new Set(ofQueue().map((r) => r.headers['x-cloudtasks-taskname']));
  // Deliveries cut off by the kill (the target had not answered yet): their tasks must go again.
  const cutOff = ofQueue().filter((r) => r.answered.status === null).map((r) => r.headers['x-cloudtasks-taskname']);
  assert.ok(recordedDone.length >= N / 3 - CONCURRENCY && recordedDone.length < N, `${recordedDone.length} recorded as done at the kill`);

  // Restart on the same data dir, same target.
  const restartT = performance.now();
  srv = await startDeliveryServer({ dataDir: srv.dataDir });

  // An acknowledged task that has not gone out yet (the last one: 5 at a time, 50 ms each,
  // it is about 2 s away): tasks.get shows it was never attempted.
  const last = ids[N - 1];
  assert.ok(!deliveredAtKill.has(last));
  const lastTask = await getTask(srv.url, QUEUE, last);
  assert.ok(lastTask, `${last} survived the crash`);
  if (target.byTask(last).length === 0) {
    assert.equal(lastTask.dispatchCount ?? 0, 0, JSON.stringify(lastTask));
    assert.equal(lastTask.firstAttempt, undefined, JSON.stringify(lastTask));
  }
  // The side tasks kept their attempt counts.
  for (let i = 0; i < 4; i++) {
    const t = await getTask(srv.url, SIDE, `s${i}`);
    const where = JSON.stringify(t);
    assert.ok(t, `s${i} survived`);
    assert.equal(t.dispatchCount, sideBefore[`s${i}`], where);
    assert.equal(t.responseCount, sideBefore[`s${i}`], where);
    assert.equal(t.lastAttempt?.responseStatus?.code, 14, where);
    assert.ok(t.firstAttempt?.dispatchTime, where);
  }

  // Bounded wait: every acknowledged task delivered with a 2xx at least once, and the queue empty.
  const delivered = () => new Set(ofQueue().filter((r) => r.answered?.status === 200).map((r) => r.headers['x-cloudtasks-taskname']));
  await waitFor(() => delivered().size === N, 30000, { what: () => `all ${N} tasks delivered (have ${delivered().size})` });
  await waitFor(async () => (await listTaskNames(srv.url, qpath(QUEUE))).length === 0, 10000, { what: 'the crash queue to empty' });
  for (const id of ids) assert.ok(delivered().has(id), `${id} was never delivered with a 2xx`);

  const recs = ofQueue();
  const byId = new Map(ids.map((id) => [id, []]));
  for (const r of recs) byId.get(r.headers['x-cloudtasks-taskname']).push(r);
  const dups = ids.filter((id) => byId.get(id).length > 1);
  console.log(
    `duplicates: ${dups.length}${dups.length ? ` (${dups.join(', ')})` : ''}; recorded done before the kill: ${recordedDone.length}; ` +
      `delivered before the kill: ${deliveredAtKill.size}; cut off by the kill: ${cutOff.length}`,
  );
  for (const id of cutOff) assert.ok(byId.get(id).length >= 2, `${id} was cut off by the kill and must be delivered again`);

  // No task whose success was recorded before the crash went out again.
  for (const id of recordedDone) {
    const again = byId.get(id).filter((r) => r.t >= restartT);
    assert.equal(again.length, 0, `${id} was recorded as done before the kill and delivered again after it`);
    assert.equal(byId.get(id).length, 1, `${id}: ${byId.get(id).length} deliveries`);
  }
  // Duplicates only among the deliveries in flight at the kill.
  assert.ok(dups.length <= CONCURRENCY, `${dups.length} duplicates, more than maxConcurrentDispatches ${CONCURRENCY}`);
  for (const id of dups) {
    const rs = byId.get(id);
    assert.ok(rs[0].t < restartT, `${id}: the first delivery was before the kill`);
    assert.ok(rs.slice(1).every((r) => r.t >= restartT), `${id}: repeated only after the restart`);
  }
  // Attempt counts stay right: each delivery of a task carries a higher TaskRetryCount.
  for (const id of ids) {
    const counts = byId.get(id).map((r) => Number(r.headers['x-cloudtasks-taskretrycount']));
    assert.ok(counts[0] <= 1, `${id}: first delivery with TaskRetryCount ${counts[0]}`);
    for (let i = 1; i < counts.length; i++) assert.ok(counts[i] > counts[i - 1], `${id}: TaskRetryCount ${counts}`);
  }
  // Tasks never touched before the kill went out exactly once, as first attempts.
  for (const id of ids.filter((x) => !deliveredAtKill.has(x))) {
    assert.equal(byId.get(id).length, 1, id);
  }

  // The side queue resumes with its counts: the retry is attempt 2 after a 503.
  await queueOp(srv.url, SIDE, 'resume');
  await waitFor(() => [0, 1, 2, 3].every((i) => target.byTask(`s${i}`).some((r) => r.answered?.status === 200)), 5000, {
    what: 'the side tasks delivered',
  });
  for (let i = 0; i < 4; i++) {
    const rs = target.byTask(`s${i}`);
    const r = rs.find((x) => x.answered?.status === 200);
    const where = JSON.stringify(r.headers);
    assert.equal(r.headers['x-cloudtasks-taskretrycount'], String(rs.indexOf(r)), where);
    assert.equal(r.headers['x-cloudtasks-taskexecutioncount'], '0', where);
    assert.equal(r.headers['x-cloudtasks-taskpreviousresponse'], '503', where);
  }
});
