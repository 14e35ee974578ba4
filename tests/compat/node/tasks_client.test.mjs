// @google-cloud/tasks, unchanged, in REST mode against the real binary: the round of queue and
// task calls the app makes, and the error codes the client surfaces.
//
// In REST mode @google-cloud/tasks 7 (google-gax 6) decodes the google.rpc.Status reply of
// a non-2xx answer: err.code is the gRPC code its `status` names (6 ALREADY_EXISTS, 5
// NOT_FOUND, 3 INVALID_ARGUMENT, 16 UNAUTHENTICATED), err.httpStatusCode the HTTP status and
// err.message the status message. (6.x surfaced the HTTP status as err.code and the raw body
// as err.message.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { call, tasksClient } from './lib/rest.mjs';

const ALREADY_EXISTS = 409;
const NOT_FOUND = 404;
const INVALID_ARGUMENT = 400;
const UNAUTHENTICATED = 401;
const RPC_STATUS = { 409: 'ALREADY_EXISTS', 404: 'NOT_FOUND', 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED' };
const GRPC_CODE = { ALREADY_EXISTS: 6, NOT_FOUND: 5, INVALID_ARGUMENT: 3, UNAUTHENTICATED: 16 };

const PROJECT = 'compat-proj';
const LOCATION = 'us-central1';
const PARENT = `projects/${PROJECT}/locations/${LOCATION}`;
const QUEUE_MISSING =
  'Queue does not exist. If you just created the queue, wait at least a minute for the queue to initialize.';
const ENTITY_MISSING = 'Requested entity was not found.';
const TASK_RECENT =
  'The task no longer exists, though a task with this name existed recently. The task either successfully completed or was deleted.';

let server;
let client;

before(async () => {
  server = await startServer();
  client = tasksClient(server.port);
});

after(async () => {
  await client?.close();
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

// Runs fn, expects it to reject with the given HTTP status (and message, when given).
async function rejects(fn, code, message) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an error with HTTP status ${code}, the call succeeded`);
  assert.equal(err.httpStatusCode, code, `err.httpStatusCode: ${err.httpStatusCode} (${err.code} ${err.message})`);
  assert.equal(err.code, GRPC_CODE[RPC_STATUS[code]], `err.code: ${err.code} (${err.message})`);
  if (message !== undefined) assert.equal(err.message, message);
  return err;
}

const queueName = (id) => `${PARENT}/queues/${id}`;
const stateName = (s) => (typeof s === 'number' ? ['STATE_UNSPECIFIED', 'RUNNING', 'PAUSED', 'DISABLED'][s] : s);
const secs = (d) => Number(d.seconds ?? 0) + (d.nanos ?? 0) / 1e9;
const tsMillis = (t) => Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);

// The client's locations mixin (getLocation/listLocations) is gax's generic one and requests
// /v1/projects/*/locations, not the /v2 paths of the Cloud Tasks REST surface: checked raw.
test('locations: list and get (REST)', async () => {
  const list = await call(server.url, 'GET', `/v2/projects/${PROJECT}/locations`);
  assert.equal(list.status, 200, list.text);
  assert.ok(list.json.locations.some((l) => l.name === PARENT && l.locationId === LOCATION), list.text);
  const get = await call(server.url, 'GET', `/v2/${PARENT}`);
  assert.equal(get.status, 200, get.text);
  assert.equal(get.json.name, PARENT);
  assert.equal(get.json.locationId, LOCATION);
});

test('queues: create, get, list, patch with updateMask, pause, resume, purge, delete', async () => {
  const name = queueName('client-round');
  const [created] = await client.createQueue({
    parent: PARENT,
    queue: {
      name,
      rateLimits: { maxDispatchesPerSecond: 20, maxConcurrentDispatches: 7 },
      retryConfig: {
        maxAttempts: 5,
        minBackoff: { seconds: 30 },
        maxBackoff: { seconds: 1800 },
        maxDoublings: 3,
        maxRetryDuration: { seconds: 3600 },
      },
    },
  });
  assert.equal(created.name, name);
  assert.equal(created.rateLimits.maxDispatchesPerSecond, 20);
  assert.equal(created.rateLimits.maxConcurrentDispatches, 7);
  assert.ok(Number.isInteger(created.rateLimits.maxBurstSize) && created.rateLimits.maxBurstSize > 0);
  assert.equal(created.retryConfig.maxAttempts, 5);
  assert.equal(secs(created.retryConfig.minBackoff), 30);
  assert.equal(secs(created.retryConfig.maxBackoff), 1800);
  assert.equal(created.retryConfig.maxDoublings, 3);
  assert.equal(secs(created.retryConfig.maxRetryDuration), 3600);
  assert.equal(stateName(created.state), 'RUNNING');

  // A queue with nothing set gets every documented default.
  const [plain] = await client.createQueue({ parent: PARENT, queue: { name: queueName('client-defaults') } });
  assert.equal(plain.rateLimits.maxDispatchesPerSecond, 500);
  assert.equal(plain.rateLimits.maxBurstSize, 100);
  assert.equal(plain.rateLimits.maxConcurrentDispatches, 1000);
  assert.equal(plain.retryConfig.maxAttempts, 100);
  assert.equal(secs(plain.retryConfig.minBackoff), 0.1);
  assert.equal(secs(plain.retryConfig.maxBackoff), 3600);
  assert.equal(plain.retryConfig.maxDoublings, 16);
  assert.equal(stateName(plain.state), 'RUNNING');

  const [got] = await client.getQueue({ name });
  assert.deepEqual(got, created);

  await rejects(() => client.createQueue({ parent: PARENT, queue: { name } }), ALREADY_EXISTS, 'Queue already exists');

  const [queues, , listResponse] = await client.listQueues({ parent: PARENT }, { autoPaginate: false });
  const names = queues.map((q) => q.name);
  assert.ok(names.includes(name) && names.includes(queueName('client-defaults')), names.join(','));
  assert.ok(!listResponse.nextPageToken, 'one page holds every queue');

  // updateMask: only the masked fields change, even though the body carries others.
  const [patched] = await client.updateQueue({
    queue: {
      name,
      rateLimits: { maxDispatchesPerSecond: 50, maxConcurrentDispatches: 2000 },
      retryConfig: { maxAttempts: 99 },
    },
    updateMask: { paths: ['rate_limits.max_dispatches_per_second', 'rate_limits.max_concurrent_dispatches'] },
  });
  assert.equal(patched.rateLimits.maxDispatchesPerSecond, 50);
  assert.equal(patched.rateLimits.maxConcurrentDispatches, 2000);
  assert.equal(patched.retryConfig.maxAttempts, 5, 'a field outside the mask must not change');
  assert.equal(secs(patched.retryConfig.minBackoff), 30);
  const [afterPatch] = await client.getQueue({ name });
  assert.deepEqual(afterPatch, patched);

  // Patch of a missing queue creates it.
  const [upserted] = await client.updateQueue({
    queue: { name: queueName('client-upsert'), retryConfig: { maxAttempts: 4 } },
    updateMask: { paths: ['retry_config.max_attempts'] },
  });
  assert.equal(upserted.retryConfig.maxAttempts, 4);
  assert.equal(upserted.rateLimits.maxDispatchesPerSecond, 500);

  const [paused] = await client.pauseQueue({ name });
  assert.equal(stateName(paused.state), 'PAUSED');
  const [pausedList] = await client.listQueues({ parent: PARENT, filter: 'state: PAUSED' }, { autoPaginate: false });
  assert.deepEqual(pausedList.map((q) => q.name), [name]);
  // Tasks can be added to a paused queue.
  await client.createTask({ parent: name, task: { httpRequest: { url: 'http://127.0.0.1:9/p' } } });
  const [resumed] = await client.resumeQueue({ name });
  assert.equal(stateName(resumed.state), 'RUNNING');
  const [runningList] = await client.listQueues({ parent: PARENT, filter: 'state: RUNNING' }, { autoPaginate: false });
  assert.ok(runningList.some((q) => q.name === name));

  for (let i = 0; i < 5; i++) {
    await client.createTask({ parent: name, task: { httpRequest: { url: `http://127.0.0.1:9/${i}` } } });
  }
  const [before] = await client.listTasks({ parent: name }, { autoPaginate: false });
  assert.equal(before.length, 6);
  const t0 = Date.now();
  const [purged] = await client.purgeQueue({ name });
  assert.ok(purged.purgeTime, 'purge sets purgeTime');
  assert.ok(Math.abs(tsMillis(purged.purgeTime) - t0) < 60_000);
  const [afterPurge] = await client.listTasks({ parent: name }, { autoPaginate: false });
  assert.deepEqual(afterPurge, []);
  // Tasks created after the purge stay.
  await client.createTask({ parent: name, task: { httpRequest: { url: 'http://127.0.0.1:9/after' } } });
  const [afterPurge2] = await client.listTasks({ parent: name }, { autoPaginate: false });
  assert.equal(afterPurge2.length, 1);

  await client.deleteQueue({ name });
  await rejects(() => client.getQueue({ name }), NOT_FOUND, QUEUE_MISSING);
  await rejects(() => client.deleteQueue({ name }), NOT_FOUND, ENTITY_MISSING);
  await rejects(() => client.pauseQueue({ name }), NOT_FOUND, QUEUE_MISSING);
  await rejects(() => client.resumeQueue({ name }), NOT_FOUND, QUEUE_MISSING);
  await rejects(() => client.purgeQueue({ name }), NOT_FOUND, QUEUE_MISSING);
  await rejects(
    () => client.createTask({ parent: name, task: { httpRequest: { url: 'http://127.0.0.1:9/' } } }),
    NOT_FOUND,
    QUEUE_MISSING,
  );
  await client.deleteQueue({ name: queueName('client-defaults') });
  await client.deleteQueue({ name: queueName('client-upsert') });
});

test('tasks: create named and generated, get FULL, list, run, delete, de-duplication', async () => {
  const q = queueName('client-tasks');
  await client.createQueue({ parent: PARENT, queue: { name: q } });
  const body = Buffer.from(JSON.stringify({ userId: 'u-1', kind: 'token-refresh', bytes: '\u00e9\u2603' }));
  const schedule = new Date(Date.now() + 3600_000);
  schedule.setMilliseconds(250);
  const [created] = await client.createTask({
    parent: q,
    task: {
      name: `${q}/tasks/t1`,
      scheduleTime: { seconds: Math.floor(schedule.getTime() / 1000), nanos: 250_000_000 },
      dispatchDeadline: { seconds: 30 },
      httpRequest: {
        url: 'http://127.0.0.1:9/jobs/token-refresh',
        httpMethod: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Custom': 'v' },
        body,
        oidcToken: { serviceAccountEmail: 'tasks@compat-proj.iam.gserviceaccount.com', audience: 'https://worker.example.com' },
      },
    },
  });
  assert.equal(created.name, `${q}/tasks/t1`);
  assert.equal(tsMillis(created.scheduleTime), schedule.getTime());
  assert.equal(secs(created.dispatchDeadline), 30);
  assert.equal(created.httpRequest.url, 'http://127.0.0.1:9/jobs/token-refresh');
  assert.equal(created.httpRequest.headers['X-Custom'], 'v');
  assert.equal(created.httpRequest.headers['Content-Type'], 'application/json');
  assert.deepEqual(
    { ...created.httpRequest.oidcToken },
    { serviceAccountEmail: 'tasks@compat-proj.iam.gserviceaccount.com', audience: 'https://worker.example.com' },
  );
  assert.ok(!created.httpRequest.body || created.httpRequest.body.length === 0, 'BASIC view omits the body');
  assert.ok(Math.abs(tsMillis(created.createTime) - Date.now()) < 60_000);
  assert.equal(Number(created.createTime.nanos ?? 0), 0, 'createTime has whole seconds');

  const [full] = await client.getTask({ name: `${q}/tasks/t1`, responseView: 'FULL' });
  assert.deepEqual(Buffer.from(full.httpRequest.body), body, 'body round-trips byte for byte');
  assert.equal(String(full.view), typeof full.view === 'number' ? '2' : 'FULL');
  const [basic] = await client.getTask({ name: `${q}/tasks/t1` });
  assert.ok(!basic.httpRequest.body || basic.httpRequest.body.length === 0);
  assert.deepEqual(basic, created);

  // Generated id.
  const [generated] = await client.createTask({
    parent: q,
    task: { httpRequest: { url: 'http://127.0.0.1:9/x', httpMethod: 'GET' } },
    responseView: 'FULL',
  });
  assert.match(generated.name, new RegExp(`^${q}/tasks/[A-Za-z0-9_-]{1,500}$`));
  assert.ok(Math.abs(tsMillis(generated.scheduleTime) - Date.now()) < 60_000, 'no scheduleTime: now');
  assert.equal(secs(generated.dispatchDeadline), 600, 'default dispatchDeadline');

  // Duplicates.
  await rejects(
    () => client.createTask({ parent: q, task: { name: `${q}/tasks/t1`, httpRequest: { url: 'http://127.0.0.1:9/' } } }),
    ALREADY_EXISTS,
    'Requested entity already exists',
  );

  // run answers with the task.
  const [ran] = await client.runTask({ name: `${q}/tasks/t1` });
  assert.equal(ran.name, `${q}/tasks/t1`);
  await rejects(() => client.runTask({ name: `${q}/tasks/nope` }), NOT_FOUND, ENTITY_MISSING);

  const [listed] = await client.listTasks({ parent: q }, { autoPaginate: false });
  assert.deepEqual(listed.map((t) => t.name).sort(), [`${q}/tasks/t1`, generated.name].sort());

  await client.deleteTask({ name: `${q}/tasks/t1` });
  await rejects(() => client.deleteTask({ name: `${q}/tasks/t1` }), NOT_FOUND, ENTITY_MISSING);
  await rejects(() => client.getTask({ name: `${q}/tasks/t1` }), NOT_FOUND, TASK_RECENT);
  await rejects(() => client.getTask({ name: `${q}/tasks/never` }), NOT_FOUND, ENTITY_MISSING);
  await rejects(() => client.deleteTask({ name: `${q}/tasks/never` }), NOT_FOUND, ENTITY_MISSING);
  // The name stays taken after delete, within the de-dup window (default 1h).
  await rejects(
    () => client.createTask({ parent: q, task: { name: `${q}/tasks/t1`, httpRequest: { url: 'http://127.0.0.1:9/' } } }),
    ALREADY_EXISTS,
    'Requested entity already exists',
  );
  await rejects(() => client.getTask({ name: `${queueName('no-such-queue')}/tasks/t1` }), NOT_FOUND);
  await rejects(
    () => client.listTasks({ parent: queueName('no-such-queue') }, { autoPaginate: false }),
    NOT_FOUND,
    QUEUE_MISSING,
  );
  await client.deleteQueue({ name: q });
});

test('tasks: list with pageSize and page tokens sees every task exactly once', async () => {
  const q = queueName('client-paging');
  await client.createQueue({ parent: PARENT, queue: { name: q } });
  // Paused: no delivery attempt changes a task while it is being listed (see the next test).
  await client.pauseQueue({ name: q });
  const N = 130;
  const expected = new Set();
  // Mixed: named, generated, and scheduled in the future (order is unspecified).
  const creates = [];
  for (let i = 0; i < N; i++) {
    const task = { httpRequest: { url: `http://127.0.0.1:9/${i}` } };
    if (i % 3 === 0) task.name = `${q}/tasks/n-${String(i).padStart(4, '0')}`;
    if (i % 5 === 0) task.scheduleTime = { seconds: Math.floor(Date.now() / 1000) + 600 + i };
    creates.push(client.createTask({ parent: q, task }).then(([t]) => expected.add(t.name)));
    if (creates.length === 16) await Promise.all(creates.splice(0));
  }
  await Promise.all(creates);
  assert.equal(expected.size, N);

  const seen = new Map();
  let pageToken = '';
  let pages = 0;
  let inserted = 0;
  do {
    const [tasks, , resp] = await client.listTasks(
      { parent: q, pageSize: 7, pageToken, responseView: 'FULL' },
      { autoPaginate: false },
    );
    pages++;
    assert.ok(tasks.length <= 7, `page of ${tasks.length}`);
    for (const t of tasks) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    pageToken = resp?.nextPageToken ?? '';
    // Inserts while paging must not make the listing repeat or skip the existing tasks.
    if (pages === 3 || pages === 9) {
      await client.createTask({ parent: q, task: { httpRequest: { url: 'http://127.0.0.1:9/late' } } });
      inserted++;
    }
    assert.ok(pages < 100, 'listing does not end');
  } while (pageToken);
  for (const name of expected) assert.equal(seen.get(name), 1, `${name} seen ${seen.get(name) ?? 0} times`);
  for (const [name, n] of seen) assert.equal(n, 1, `${name} seen ${n} times`);
  assert.ok(seen.size >= N && seen.size <= N + inserted);
  assert.ok(pages >= Math.ceil(N / 7));

  // The async iterator of the client walks the same pages.
  const iterated = [];
  for await (const t of client.listTasksAsync({ parent: q, pageSize: 50 })) iterated.push(t.name);
  assert.equal(iterated.length, N + inserted);
  assert.equal(new Set(iterated).size, N + inserted);
  await client.deleteQueue({ name: q });
});

// tasks.run (and every retry under push delivery) changes a task's scheduleTime. A listing in
// progress must still show each task exactly once: a task already listed must not come back,
// and a task not yet listed must not be skipped because it moved before the page cursor.
test('tasks: page tokens stay exact while tasks.run moves tasks', async () => {
  const q = queueName('client-paging-run');
  await client.createQueue({ parent: PARENT, queue: { name: q } });
  await client.pauseQueue({ name: q });
  const names = [];
  for (let i = 0; i < 8; i++) {
    const [t] = await client.createTask({
      parent: q,
      task: { name: `${q}/tasks/past-${i}`, httpRequest: { url: `http://127.0.0.1:9/${i}` } },
    });
    names.push(t.name);
  }
  const base = Math.floor(Date.now() / 1000) + 3600;
  for (let i = 0; i < 8; i++) {
    const [t] = await client.createTask({
      parent: q,
      task: { name: `${q}/tasks/future-${i}`, scheduleTime: { seconds: base + i }, httpRequest: { url: `http://127.0.0.1:9/f${i}` } },
    });
    names.push(t.name);
  }
  const seen = new Map();
  let pageToken = '';
  let pages = 0;
  let ranSeen = null;
  let ranUnseen = null;
  do {
    const [tasks, , resp] = await client.listTasks({ parent: q, pageSize: 3, pageToken }, { autoPaginate: false });
    pages++;
    for (const t of tasks) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    pageToken = resp?.nextPageToken ?? '';
    if (pages === 1) {
      // Run a task that was just listed.
      ranSeen = tasks[0].name;
      await client.runTask({ name: ranSeen });
    }
    if (!ranUnseen && tasks.some((t) => t.name.includes('/future-'))) {
      // Run a task that is not listed yet, once the cursor is among the future tasks.
      ranUnseen = names.find((n) => n.includes('/future-') && !seen.has(n) && n !== names[names.length - 1]);
      if (ranUnseen) await client.runTask({ name: ranUnseen });
    }
    assert.ok(pages < 50, 'listing does not end');
  } while (pageToken);
  assert.ok(ranSeen && ranUnseen, `ran ${ranSeen} and ${ranUnseen}`);
  const wrong = names.filter((n) => seen.get(n) !== 1).map((n) => `${n.split('/').pop()} x${seen.get(n) ?? 0}`);
  assert.deepEqual(wrong, [], `ran ${ranSeen.split('/').pop()} (listed) and ${ranUnseen.split('/').pop()} (not yet listed)`);
  await client.deleteQueue({ name: q });
});

test('concurrent creates of one name: exactly one succeeds, the rest get 409', async () => {
  const name = queueName('client-race');
  const settle = (ps) => Promise.allSettled(ps).then((rs) => rs.map((r) => (r.status === 'fulfilled' ? 200 : r.reason.httpStatusCode)));
  const queueCodes = await settle(Array.from({ length: 16 }, () => client.createQueue({ parent: PARENT, queue: { name } })));
  assert.deepEqual(queueCodes.sort(), [200, ...Array(15).fill(ALREADY_EXISTS)].sort(), queueCodes.join(','));
  const taskCodes = await settle(
    Array.from({ length: 24 }, (_, i) =>
      client.createTask({ parent: name, task: { name: `${name}/tasks/once`, httpRequest: { url: `http://127.0.0.1:9/${i}` } } }),
    ),
  );
  assert.deepEqual(taskCodes.sort(), [200, ...Array(23).fill(ALREADY_EXISTS)].sort(), taskCodes.join(','));
  const [tasks] = await client.listTasks({ parent: name }, { autoPaginate: false });
  assert.equal(tasks.length, 1);
  await client.deleteQueue({ name });
});

test('invalid arguments surface as INVALID_ARGUMENT', async () => {
  const q = queueName('client-invalid');
  await client.createQueue({ parent: PARENT, queue: { name: q } });
  await rejects(
    () => client.createQueue({ parent: PARENT, queue: { name: `${PARENT}/queues/bad_name!` } }),
    INVALID_ARGUMENT,
    'Queue name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>".',
  );
  await rejects(
    () => client.createTask({ parent: q, task: { httpRequest: { url: 'ftp://example.com/' } } }),
    INVALID_ARGUMENT,
    "HttpTarget.url must start with 'http://' or 'https://'.",
  );
  await rejects(
    () => client.createTask({ parent: q, task: { httpRequest: { url: '' } } }),
    INVALID_ARGUMENT,
    'HttpRequest.url is required.',
  );
  await rejects(
    () => client.createTask({ parent: q, task: { name: `${q}/tasks/bad.id`, httpRequest: { url: 'http://127.0.0.1:9/' } } }),
    INVALID_ARGUMENT,
    'Task ID "bad.id" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), or underscores (_). Task ID must between 1 and 500 characters.',
  );
  await rejects(
    () =>
      client.createQueue({
        parent: PARENT,
        queue: { name: queueName('client-invalid-2'), retryConfig: { maxAttempts: -2 } },
      }),
    INVALID_ARGUMENT,
  );
  await client.deleteQueue({ name: q });
});

test('API-key mode (x-goog-api-key) against --api-token', async () => {
  const secure = await startServer({ args: ['--api-token', 'test-api-key'] });
  const keyed = tasksClient(secure.port, { apiKey: 'test-api-key' });
  const wrongKey = tasksClient(secure.port, { apiKey: 'wrong-key' });
  const bearer = tasksClient(secure.port, { accessToken: 'test-api-key' });
  const wrongBearer = tasksClient(secure.port, { accessToken: 'nope' });
  try {
    const name = queueName('keyed');
    const [created] = await keyed.createQueue({ parent: PARENT, queue: { name } });
    assert.equal(created.name, name);
    const [got] = await keyed.getQueue({ name });
    assert.deepEqual(got, created);
    const [task] = await keyed.createTask({ parent: name, task: { httpRequest: { url: 'http://127.0.0.1:9/' } } });
    const [listed] = await keyed.listTasks({ parent: name }, { autoPaginate: false });
    assert.deepEqual(listed.map((t) => t.name), [task.name]);
    await rejects(() => keyed.getTask({ name: `${name}/tasks/none` }), NOT_FOUND, ENTITY_MISSING);
    // The same token as a bearer works too; wrong credentials of either kind do not.
    const [viaBearer] = await bearer.getQueue({ name });
    assert.deepEqual(viaBearer, created);
    await rejects(() => wrongKey.getQueue({ name }), UNAUTHENTICATED);
    await rejects(() => wrongBearer.getQueue({ name }), UNAUTHENTICATED);
    const anon = await call(secure.url, 'GET', `/v2/${name}`);
    assert.equal(anon.status, 401, anon.text);
    assert.equal(anon.json?.error?.status, 'UNAUTHENTICATED');
    const health = await call(secure.url, 'GET', '/healthz');
    assert.equal(health.status, 200, 'health stays public');
    await keyed.deleteQueue({ name });
  } finally {
    await Promise.all([keyed.close(), wrongKey.close(), bearer.close(), wrongBearer.close()]);
    await secure.stop();
    secure.cleanup();
  }
});
