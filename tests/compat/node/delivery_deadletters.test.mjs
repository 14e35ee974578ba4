// Dead letters and permanent-failure statuses (issue 3, test 6; stratus extensions under
// /stratus/v1): exhausted and permanent-failure tasks are kept with their last response,
// can be retried (delivered again, leaving the list) one or all, and deleted one or all;
// Google's client keeps working on a queue that uses the extensions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call, tasksClient } from './lib/rest.mjs';
import { startTarget, waitFor } from './lib/target.mjs';
import { startDeliveryServer, createQueue, createTask, getTask, listDeadLetters, qpath, tpath, stratusQueue } from './lib/delivery.mjs';

let srv;
let target;
// Per task: the statuses it is answered with, in order; then `fallbackFor` (200 by default).
const answers = {};
const fallbackFor = {};

before(async () => {
  srv = await startDeliveryServer();
  target = await startTarget({
    script: (rec) => {
      const id = rec.headers['x-cloudtasks-taskname'];
      const a = answers[id]?.[rec.taskIndex] ?? fallbackFor[id] ?? 200;
      return typeof a === 'number' ? { status: a } : a;
    },
  });
});

after(async () => {
  await target?.close();
  await srv?.stop();
  srv?.cleanup();
});

const deadOf = async (queue, id) => (await listDeadLetters(srv.url, queue)).find((d) => d.task.name === tpath(queue, id));
const waitDead = (queue, id) => waitFor(() => deadOf(queue, id), 10000, { what: `dead letter ${id}` });
const headerOf = (headers, name) => Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

test('retries exhausted: the task is kept with its last status, headers and the first KB of the body', async () => {
  const queue = 'dl-exhausted';
  await createQueue(srv.url, queue, { retryConfig: { maxAttempts: 2, minBackoff: '0.05s', maxBackoff: '0.1s' } });
  const body = 'E'.repeat(600) + 'F'.repeat(1000);
  fallbackFor.ex = { status: 500, headers: { 'X-Why': 'database down', 'Content-Type': 'text/plain' }, body };
  await createTask(srv.url, queue, { id: 'ex', url: `${target.url}/ex`, body: 'payload', headers: { 'X-In': '1' } });
  const dead = await waitDead(queue, 'ex');
  assert.equal(target.byTask('ex').length, 2);
  assert.equal(await getTask(srv.url, queue, 'ex'), null, 'no longer a task');
  assert.equal(dead.reason, 'retries exhausted after 2 attempts');
  assert.equal(dead.responseStatus, 500);
  assert.equal(headerOf(dead.responseHeaders, 'X-Why'), 'database down', JSON.stringify(dead.responseHeaders));
  assert.equal(headerOf(dead.responseHeaders, 'Content-Type'), 'text/plain');
  assert.equal(Buffer.from(dead.responseBody, 'base64').toString(), body.slice(0, 1024), 'the first KB of the body');
  assert.ok(!Number.isNaN(Date.parse(dead.deadTime)), dead.deadTime);
  // The task as it was: FULL view with its attempts.
  assert.equal(dead.task.name, tpath(queue, 'ex'));
  assert.equal(dead.task.dispatchCount, 2);
  assert.equal(dead.task.responseCount, 2);
  assert.equal(dead.task.lastAttempt?.responseStatus?.code, 13, JSON.stringify(dead.task));
  assert.equal(dead.task.httpRequest.url, `${target.url}/ex`);
  assert.equal(Buffer.from(dead.task.httpRequest.body, 'base64').toString(), 'payload');
  assert.equal(dead.task.httpRequest.headers['X-In'], '1');
  // Get one.
  const one = await call(srv.url, 'GET', `${stratusQueue(queue)}/deadLetters/ex`);
  assert.equal(one.status, 200, one.text);
  assert.deepEqual(one.json, dead);
  const missing = await call(srv.url, 'GET', `${stratusQueue(queue)}/deadLetters/nope`);
  assert.equal(missing.status, 404, missing.text);

  // Retry it: re-enqueued with fresh counts, due now; the target now says 200.
  fallbackFor.ex = 200;
  const r = await call(srv.url, 'POST', `${stratusQueue(queue)}/deadLetters/ex:retry`, { body: {} });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, tpath(queue, 'ex'));
  await waitFor(() => target.byTask('ex').length === 3 && target.byTask('ex')[2].answered, 5000, { what: 'the retried delivery' });
  const again = target.byTask('ex')[2];
  assert.equal(again.body.toString(), 'payload');
  assert.equal(again.headers['x-cloudtasks-taskretrycount'], '0', 'fresh counts');
  assert.equal(again.headers['x-cloudtasks-taskexecutioncount'], '0', 'fresh counts');
  assert.equal(again.headers['x-cloudtasks-taskpreviousresponse'], undefined);
  assert.equal(await deadOf(queue, 'ex'), undefined, 'it left the dead-letter list');
  assert.equal((await call(srv.url, 'GET', `${stratusQueue(queue)}/deadLetters/ex`)).status, 404);
  await waitFor(async () => (await getTask(srv.url, queue, 'ex')) === null, 5000, { what: 'the retried task done' });
});

test('permanent-failure statuses: 4xx except 408 and 429 dead-letters at once; 429 is retried', async () => {
  const queue = 'dl-permanent';
  await createQueue(srv.url, queue, { retryConfig: { maxAttempts: 5, minBackoff: '0.05s', maxBackoff: '0.1s' } });
  const put = await call(srv.url, 'PUT', `${stratusQueue(queue)}/config`, { body: { permanentFailureStatuses: ['4xx', '!408', '!429'] } });
  assert.equal(put.status, 200, put.text);
  const expected = [];
  for (let c = 400; c < 500; c++) if (c !== 408 && c !== 429) expected.push(c);
  assert.deepEqual(put.json.permanentFailureStatuses, expected);
  const got = await call(srv.url, 'GET', `${stratusQueue(queue)}/config`);
  assert.deepEqual(got.json, put.json);

  fallbackFor.nf = { status: 404, headers: { 'X-Gone': 'yes' }, body: 'no such thing' };
  answers.tm = [429, 429];
  answers.rt = [408];
  fallbackFor.ise = 500;
  await createTask(srv.url, queue, { id: 'nf', url: `${target.url}/nf` });
  await createTask(srv.url, queue, { id: 'tm', url: `${target.url}/tm` });
  await createTask(srv.url, queue, { id: 'rt', url: `${target.url}/rt` });
  await createTask(srv.url, queue, { id: 'ise', url: `${target.url}/ise` });

  const nf = await waitDead(queue, 'nf');
  assert.equal(target.byTask('nf').length, 1, 'dead-lettered after one attempt');
  assert.equal(nf.reason, 'permanent failure status 404');
  assert.equal(nf.responseStatus, 404);
  assert.equal(headerOf(nf.responseHeaders, 'X-Gone'), 'yes');
  assert.equal(Buffer.from(nf.responseBody, 'base64').toString(), 'no such thing');
  assert.equal(nf.task.dispatchCount, 1);

  // 429 and 408 are excluded: retried, then delivered.
  await waitFor(() => target.byTask('tm').length === 3 && target.byTask('rt').length === 2, 10000, { what: 'the 429 and 408 tasks retried' });
  await waitFor(async () => (await getTask(srv.url, queue, 'tm')) === null && (await getTask(srv.url, queue, 'rt')) === null, 5000, {
    what: 'the retried tasks done',
  });
  // 5xx is not in the list: retried until maxAttempts.
  const ise = await waitDead(queue, 'ise');
  assert.equal(target.byTask('ise').length, 5);
  assert.equal(ise.reason, 'retries exhausted after 5 attempts');
  const names = (await listDeadLetters(srv.url, queue)).map((d) => d.task.name).sort();
  assert.deepEqual(names, [tpath(queue, 'ise'), tpath(queue, 'nf')]);

  // Delete one.
  const del = await call(srv.url, 'DELETE', `${stratusQueue(queue)}/deadLetters/ise`);
  assert.equal(del.status, 200, del.text);
  assert.deepEqual((await listDeadLetters(srv.url, queue)).map((d) => d.task.name), [tpath(queue, 'nf')]);
  assert.equal((await call(srv.url, 'DELETE', `${stratusQueue(queue)}/deadLetters/ise`)).status, 404);
});

test('retryAll re-delivers every dead letter; delete-all empties the list', async () => {
  const queue = 'dl-all';
  await createQueue(srv.url, queue);
  await call(srv.url, 'PUT', `${stratusQueue(queue)}/config`, { body: { permanentFailureStatuses: [410, 451] } });
  const ids = ['a1', 'a2', 'a3'];
  for (const id of ids) {
    fallbackFor[id] = 410;
    await createTask(srv.url, queue, { id, url: `${target.url}/all` });
  }
  await waitFor(async () => (await listDeadLetters(srv.url, queue)).length === 3, 10000, { what: '3 dead letters' });
  // Paged listing.
  const p1 = await call(srv.url, 'GET', `${stratusQueue(queue)}/deadLetters?pageSize=2`);
  assert.equal(p1.status, 200, p1.text);
  assert.equal(p1.json.deadLetters.length, 2);
  assert.ok(p1.json.nextPageToken, p1.text);
  const p2 = await call(srv.url, 'GET', `${stratusQueue(queue)}/deadLetters?pageSize=2&pageToken=${encodeURIComponent(p1.json.nextPageToken)}`);
  assert.equal(p2.status, 200, p2.text);
  assert.equal(p2.json.deadLetters.length, 1);
  assert.equal(p2.json.nextPageToken, undefined);
  assert.deepEqual([...p1.json.deadLetters, ...p2.json.deadLetters].map((d) => d.task.name).sort(), ids.map((id) => tpath(queue, id)));
  assert.ok(ids.every((id) => target.byTask(id).length === 1), 'dead-lettered after one attempt each');
  for (const id of ids) fallbackFor[id] = 200;
  const r = await call(srv.url, 'POST', `${stratusQueue(queue)}/deadLetters:retryAll`, { body: {} });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { retried: 3 });
  await waitFor(() => ids.every((id) => target.byTask(id).length === 2), 5000, { what: 'the 3 retried deliveries' });
  await waitFor(async () => (await call(srv.url, 'GET', `/v2/${qpath(queue)}/tasks`)).json.tasks === undefined, 5000, { what: 'queue empty' });
  assert.equal((await listDeadLetters(srv.url, queue)).length, 0);

  // Two more dead letters, then delete them all.
  for (const id of ['b1', 'b2']) {
    fallbackFor[id] = 451;
    await createTask(srv.url, queue, { id, url: `${target.url}/all` });
  }
  await waitFor(async () => (await listDeadLetters(srv.url, queue)).length === 2, 10000, { what: '2 dead letters' });
  const d = await call(srv.url, 'DELETE', `${stratusQueue(queue)}/deadLetters`);
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(d.json, { deleted: 2 });
  assert.equal((await listDeadLetters(srv.url, queue)).length, 0);
  const none = await call(srv.url, 'POST', `${stratusQueue(queue)}/deadLetters:retryAll`, { body: {} });
  assert.deepEqual(none.json, { retried: 0 });
});

test('the Google client keeps working on a queue with the extensions set', async () => {
  const queue = 'dl-google';
  await createQueue(srv.url, queue, { retryConfig: { maxAttempts: 3, minBackoff: '0.1s' } });
  await call(srv.url, 'PUT', `${stratusQueue(queue)}/config`, { body: { permanentFailureStatuses: ['4xx', 500] } });
  const client = tasksClient(srv.port);
  try {
    const [q] = await client.getQueue({ name: qpath(queue) });
    assert.equal(q.name, qpath(queue));
    assert.equal(q.retryConfig.maxAttempts, 3);
    const [t] = await client.createTask({
      parent: qpath(queue),
      task: { name: tpath(queue, 'g1'), httpRequest: { url: `${target.url}/g`, httpMethod: 'POST', body: Buffer.from('hi') } },
    });
    assert.equal(t.name, tpath(queue, 'g1'));
    await waitFor(() => target.byTask('g1').length === 1, 5000, { what: 'the client-created task delivered' });
    const [queues] = await client.listQueues({ parent: 'projects/p/locations/l' });
    assert.ok(queues.some((x) => x.name === qpath(queue)));
    const [updated] = await client.updateQueue({ queue: { name: qpath(queue), rateLimits: { maxDispatchesPerSecond: 7 } }, updateMask: { paths: ['rate_limits.max_dispatches_per_second'] } });
    assert.equal(updated.rateLimits.maxDispatchesPerSecond, 7);
    // The extension survives the Google-side update.
    const cfg = await call(srv.url, 'GET', `${stratusQueue(queue)}/config`);
    assert.equal(cfg.json.permanentFailureStatuses.length, 101);
  } finally {
    await client.close();
  }
});
