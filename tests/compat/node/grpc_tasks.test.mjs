// @google-cloud/tasks, unchanged, on its DEFAULT transport (gRPC) against the real binary's
// --grpc-listen port: every CloudTasks RPC and the Locations mixin, Google's error codes and
// texts (the same texts tasks_client.test.mjs asserts over REST), pagination with
// autoPaginate on and off, UpdateQueue with a mask, and the client's own retry of an
// idempotent call on UNAVAILABLE.
//
// On gRPC, google-gax rejects with a GoogleError whose `code` is the gRPC status code and
// whose `details` is the status message byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CloudTasksClient } from '@google-cloud/tasks';
import { grpc } from 'google-gax';
import { startServer } from './lib/server.mjs';

const Code = { UNAUTHENTICATED: 16, UNIMPLEMENTED: 12, ALREADY_EXISTS: 6, NOT_FOUND: 5, INVALID_ARGUMENT: 3, FAILED_PRECONDITION: 9 };

const PROJECT = 'grpc-proj';
const LOCATION = 'us-central1';
const PARENT = `projects/${PROJECT}/locations/${LOCATION}`;
const QUEUE_MISSING =
  'Queue does not exist. If you just created the queue, wait at least a minute for the queue to initialize.';
const ENTITY_MISSING = 'Requested entity was not found.';
const QUEUE_TOO_RECENT = 'The queue cannot be created because a queue with this name existed too recently.';
const TASK_RECENT =
  'The task no longer exists, though a task with this name existed recently. The task either successfully completed or was deleted.';
const QUEUE_NAME_FORMAT =
  'Queue name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>".';

let server;
let client;

function grpcClient(host, port) {
  return new CloudTasksClient({ apiEndpoint: host, port, sslCreds: grpc.credentials.createInsecure() });
}

before(async () => {
  // A deleted queue's name stays taken for an hour, so FAILED_PRECONDITION can be seen.
  server = await startServer({ args: ['--queue-reuse-window', '1h'] });
  assert.ok(server.grpcPort > 0, server.lines.join('\n'));
  client = grpcClient(server.grpcHost, server.grpcPort);
});

after(async () => {
  await client?.close();
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

// Runs fn, expects a GoogleError with the gRPC `code` and, when given, the status message.
async function rejects(fn, code, details) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected gRPC code ${code}, the call succeeded`);
  assert.equal(err.code, code, `err.code: ${err.code} (${err.message})`);
  if (details !== undefined) assert.equal(err.details, details);
  return err;
}

const queueName = (id) => `${PARENT}/queues/${id}`;
const stateName = (s) => (typeof s === 'number' ? ['STATE_UNSPECIFIED', 'RUNNING', 'PAUSED', 'DISABLED'][s] : s);
const viewName = (v) => (typeof v === 'number' ? ['VIEW_UNSPECIFIED', 'BASIC', 'FULL'][v] : v);
const secs = (d) => Number(d.seconds ?? 0) + (d.nanos ?? 0) / 1e9;

test('locations over gRPC: list and get (google.cloud.location.Locations)', async () => {
  // The mixin's methods: listLocationsAsync (an async iterator) and getLocation.
  const locations = [];
  for await (const l of client.listLocationsAsync({ name: `projects/${PROJECT}` })) locations.push(l);
  assert.ok(
    locations.some((l) => l.name === PARENT && l.locationId === LOCATION),
    JSON.stringify(locations),
  );
  const reply = await client.getLocation({ name: PARENT });
  const got = Array.isArray(reply) ? reply[0] : reply;
  assert.equal(got.name, PARENT);
  assert.equal(got.locationId, LOCATION);
  assert.equal(got.labels['cloud.googleapis.com/region'], LOCATION);
});

test('queues over gRPC: create, get, list, update with a mask, pause, resume, purge, delete', async () => {
  const name = queueName('g-round');
  const [created] = await client.createQueue({
    parent: PARENT,
    queue: {
      name,
      rateLimits: { maxDispatchesPerSecond: 20, maxConcurrentDispatches: 7 },
      retryConfig: { maxAttempts: 5, minBackoff: { seconds: 30 }, maxBackoff: { seconds: 1800 }, maxDoublings: 3 },
    },
  });
  assert.equal(created.name, name);
  assert.equal(created.rateLimits.maxDispatchesPerSecond, 20);
  assert.equal(created.rateLimits.maxConcurrentDispatches, 7);
  assert.equal(created.retryConfig.maxAttempts, 5);
  assert.equal(secs(created.retryConfig.minBackoff), 30);
  assert.equal(stateName(created.state), 'RUNNING');

  const [plain] = await client.createQueue({ parent: PARENT, queue: { name: queueName('g-defaults') } });
  assert.equal(plain.rateLimits.maxDispatchesPerSecond, 500);
  assert.equal(plain.rateLimits.maxBurstSize, 100);
  assert.equal(plain.retryConfig.maxAttempts, 100);
  assert.equal(secs(plain.retryConfig.minBackoff), 0.1);
  assert.equal(secs(plain.retryConfig.maxBackoff), 3600);
  assert.equal(plain.retryConfig.maxDoublings, 16);

  const [got] = await client.getQueue({ name });
  assert.deepEqual(got, created);
  await rejects(() => client.createQueue({ parent: PARENT, queue: { name } }), Code.ALREADY_EXISTS, 'Queue already exists');
  await rejects(
    () => client.createQueue({ parent: PARENT, queue: { name: 'not-a-queue-name' } }),
    Code.INVALID_ARGUMENT,
    QUEUE_NAME_FORMAT,
  );

  // The mask names what changes; the rest of the body is ignored.
  const [patched] = await client.updateQueue({
    queue: { name, rateLimits: { maxDispatchesPerSecond: 50, maxConcurrentDispatches: 2000 }, retryConfig: { maxAttempts: 99 } },
    updateMask: { paths: ['rate_limits.max_dispatches_per_second'] },
  });
  assert.equal(patched.rateLimits.maxDispatchesPerSecond, 50);
  assert.equal(patched.rateLimits.maxConcurrentDispatches, 7, 'outside the mask');
  assert.equal(patched.retryConfig.maxAttempts, 5, 'outside the mask');
  assert.deepEqual((await client.getQueue({ name }))[0], patched);
  await rejects(
    () => client.updateQueue({ queue: { name }, updateMask: { paths: ['rate_limits.nope'] } }),
    Code.INVALID_ARGUMENT,
    'Invalid update_mask provided: the field path "rateLimits.nope" is not an updatable Queue field.',
  );
  // Without a mask every field the message carries is replaced (unset ones take the defaults).
  const [replaced] = await client.updateQueue({ queue: { name, retryConfig: { maxAttempts: 9 } } });
  assert.equal(replaced.retryConfig.maxAttempts, 9);
  assert.equal(replaced.rateLimits.maxDispatchesPerSecond, 500);
  // Updating a missing queue creates it.
  const [upserted] = await client.updateQueue({
    queue: { name: queueName('g-upsert'), retryConfig: { maxAttempts: 4 } },
    updateMask: { paths: ['retry_config.max_attempts'] },
  });
  assert.equal(upserted.retryConfig.maxAttempts, 4);
  assert.equal(upserted.rateLimits.maxDispatchesPerSecond, 500);

  const [paused] = await client.pauseQueue({ name });
  assert.equal(stateName(paused.state), 'PAUSED');
  const [pausedList] = await client.listQueues({ parent: PARENT, filter: 'state: PAUSED' }, { autoPaginate: false });
  assert.deepEqual(pausedList.map((q) => q.name), [name]);
  const [resumed] = await client.resumeQueue({ name });
  assert.equal(stateName(resumed.state), 'RUNNING');

  await client.createTask({ parent: name, task: { httpRequest: { url: 'http://127.0.0.1:9/p' } } });
  const [purged] = await client.purgeQueue({ name });
  assert.ok(purged.purgeTime, 'purge sets purgeTime');
  assert.deepEqual((await client.listTasks({ parent: name }, { autoPaginate: false }))[0], []);

  await client.deleteQueue({ name });
  await rejects(() => client.getQueue({ name }), Code.NOT_FOUND, QUEUE_MISSING);
  await rejects(() => client.deleteQueue({ name }), Code.NOT_FOUND, ENTITY_MISSING);
  await rejects(() => client.pauseQueue({ name }), Code.NOT_FOUND, QUEUE_MISSING);
  await rejects(() => client.resumeQueue({ name }), Code.NOT_FOUND, QUEUE_MISSING);
  await rejects(() => client.purgeQueue({ name }), Code.NOT_FOUND, QUEUE_MISSING);
  // --queue-reuse-window 1h: the name of a queue deleted a moment ago is still taken.
  await rejects(() => client.createQueue({ parent: PARENT, queue: { name } }), Code.FAILED_PRECONDITION, QUEUE_TOO_RECENT);
  await client.deleteQueue({ name: queueName('g-defaults') });
  await client.deleteQueue({ name: queueName('g-upsert') });
});

test('IAM over gRPC: getIamPolicy, testIamPermissions; setIamPolicy is refused', async () => {
  const name = queueName('g-iam');
  await client.createQueue({ parent: PARENT, queue: { name } });
  const [policy] = await client.getIamPolicy({ resource: name });
  assert.equal(policy.version, 1);
  assert.deepEqual(
    policy.bindings.map((b) => [b.role, b.members]),
    [['roles/cloudtasks.admin', ['allUsers']]],
  );
  const [perms] = await client.testIamPermissions({ resource: name, permissions: ['cloudtasks.tasks.create'] });
  assert.deepEqual(perms.permissions, ['cloudtasks.tasks.create']);
  await rejects(() => client.setIamPolicy({ resource: name, policy: { bindings: [] } }), Code.UNIMPLEMENTED);
  await rejects(() => client.getIamPolicy({ resource: queueName('g-iam-none') }), Code.NOT_FOUND, QUEUE_MISSING);
  await client.deleteQueue({ name });
});

test('tasks over gRPC: create, get BASIC and FULL, list, run, delete, errors', async () => {
  const q = queueName('g-tasks');
  await client.createQueue({ parent: PARENT, queue: { name: q } });
  const body = Buffer.from([0, 1, 2, 255, 0x7b, 0x7d]);
  const taskName = `${q}/tasks/t-1`;
  const [created] = await client.createTask({
    parent: q,
    task: {
      name: taskName,
      httpRequest: { url: 'http://127.0.0.1:9/run', httpMethod: 'PUT', headers: { 'X-App': 'a' }, body },
      scheduleTime: { seconds: Math.floor(Date.now() / 1000) + 3600, nanos: 123456000 },
    },
    responseView: 'FULL',
  });
  assert.equal(created.name, taskName);
  assert.equal(viewName(created.view), 'FULL');
  assert.deepEqual(Buffer.from(created.httpRequest.body), body);
  assert.equal(created.httpRequest.headers['X-App'], 'a');
  assert.equal(created.scheduleTime.nanos, 123456000, 'microsecond precision survives');

  const [basic] = await client.getTask({ name: taskName });
  assert.equal(viewName(basic.view), 'BASIC');
  assert.equal(Buffer.from(basic.httpRequest.body ?? []).length, 0, 'BASIC leaves the body out');
  const [full] = await client.getTask({ name: taskName, responseView: 'FULL' });
  assert.deepEqual(Buffer.from(full.httpRequest.body), body);

  const [generated] = await client.createTask({ parent: q, task: { httpRequest: { url: 'http://127.0.0.1:9/g' } } });
  assert.ok(generated.name.startsWith(`${q}/tasks/`), generated.name);
  const [listed] = await client.listTasks({ parent: q, responseView: 'FULL' }, { autoPaginate: false });
  assert.deepEqual(listed.map((t) => t.name).sort(), [generated.name, taskName].sort());
  assert.deepEqual(Buffer.from(listed.find((t) => t.name === taskName).httpRequest.body), body);

  const [ran] = await client.runTask({ name: taskName });
  assert.equal(ran.name, taskName);
  assert.ok(ran.dispatchCount >= 0);

  await rejects(
    () => client.createTask({ parent: q, task: { name: taskName, httpRequest: { url: 'http://127.0.0.1:9/' } } }),
    Code.ALREADY_EXISTS,
    'Requested entity already exists',
  );
  await rejects(() => client.createTask({ parent: q, task: { httpRequest: {} } }), Code.INVALID_ARGUMENT, 'HttpRequest.url is required.');
  await rejects(
    () => client.createTask({ parent: q, task: { httpRequest: { url: 'ftp://x/' } } }),
    Code.INVALID_ARGUMENT,
    "HttpTarget.url must start with 'http://' or 'https://'.",
  );
  await rejects(
    () => client.createTask({ parent: q, task: { name: `${q}/tasks/bad!id`, httpRequest: { url: 'http://127.0.0.1:9/' } } }),
    Code.INVALID_ARGUMENT,
    'Task ID "bad!id" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), or underscores (_). Task ID must between 1 and 500 characters.',
  );
  await rejects(
    () => client.createTask({ parent: queueName('g-none'), task: { httpRequest: { url: 'http://127.0.0.1:9/' } } }),
    Code.NOT_FOUND,
    QUEUE_MISSING,
  );

  await client.deleteTask({ name: taskName });
  await rejects(() => client.getTask({ name: taskName }), Code.NOT_FOUND, TASK_RECENT);
  await rejects(() => client.deleteTask({ name: `${q}/tasks/never` }), Code.NOT_FOUND, ENTITY_MISSING);
  await rejects(() => client.runTask({ name: `${q}/tasks/never` }), Code.NOT_FOUND, ENTITY_MISSING);
  await client.deleteQueue({ name: q });
});

test('pagination over gRPC: autoPaginate on and off, queues and tasks', async () => {
  const ids = ['g-page-a', 'g-page-b', 'g-page-c', 'g-page-d', 'g-page-e'];
  for (const id of ids) await client.createQueue({ parent: PARENT, queue: { name: queueName(id) } });
  const mine = (qs) => qs.map((q) => q.name).filter((n) => n.includes('/queues/g-page-'));

  // autoPaginate (the default): every page, fetched by the client.
  const [all] = await client.listQueues({ parent: PARENT, pageSize: 2 });
  assert.deepEqual(mine(all).sort(), ids.map(queueName));

  // autoPaginate off: one page and the request for the next.
  const seen = [];
  let request = { parent: PARENT, pageSize: 2 };
  let pages = 0;
  while (request) {
    const [page, next, response] = await client.listQueues(request, { autoPaginate: false });
    assert.ok(page.length <= 2, `page of ${page.length}`);
    seen.push(...page);
    pages++;
    if (next) assert.equal(next.pageToken, response.nextPageToken);
    request = next;
  }
  assert.ok(pages >= 3, `${pages} pages`);
  assert.deepEqual(mine(seen).sort(), ids.map(queueName));
  await rejects(() => client.listQueues({ parent: PARENT, pageToken: 'garbage' }, { autoPaginate: false }), Code.INVALID_ARGUMENT, 'Invalid page token.');

  const q = queueName('g-page-a');
  for (let i = 0; i < 5; i++) await client.createTask({ parent: q, task: { httpRequest: { url: `http://127.0.0.1:9/${i}` } } });
  const [tasks] = await client.listTasks({ parent: q, pageSize: 2 });
  assert.equal(tasks.length, 5);
  const [first, nextTasks] = await client.listTasks({ parent: q, pageSize: 2 }, { autoPaginate: false });
  assert.equal(first.length, 2);
  assert.ok(nextTasks?.pageToken, 'a next page');
  // The async iterator walks the pages too.
  const iterated = [];
  for await (const t of client.listTasksAsync({ parent: q, pageSize: 2 })) iterated.push(t.name);
  assert.deepEqual(iterated.sort(), tasks.map((t) => t.name).sort());
  for (const id of ids) await client.deleteQueue({ name: queueName(id) });
});

test("the client's own retry: GetQueue issued while the server is down succeeds once it is back", async () => {
  // A server of its own, on a port it keeps across the restart.
  const first = await startServer();
  const port = first.grpcPort;
  const retrying = grpcClient('127.0.0.1', port);
  const name = queueName('g-retry');
  try {
    await retrying.createQueue({ parent: PARENT, queue: { name } });
    await first.stop();

    const call = retrying.getQueue({ name });
    // The first attempt finds nobody: the channel reports TRANSIENT_FAILURE.
    const stub = await retrying.cloudTasksStub;
    const channel = stub.getChannel();
    const deadline = Date.now() + 15000;
    while (channel.getConnectivityState(false) !== grpc.connectivityState.TRANSIENT_FAILURE) {
      assert.ok(Date.now() < deadline, `channel state ${channel.getConnectivityState(false)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const second = await startServer({ dataDir: first.dataDir, args: ['--grpc-listen', `127.0.0.1:${port}`] });
    try {
      const [queue] = await call;
      assert.equal(queue.name, name);
    } finally {
      await second.stop();
    }
  } finally {
    await retrying.close();
    first.cleanup();
  }
});

test('--api-token over gRPC: no token is UNAUTHENTICATED in REST\'s words; the token as metadata passes', async () => {
  const guarded = await startServer({ args: ['--api-token', 'tok-grpc-1'] });
  const c = grpcClient(guarded.grpcHost, guarded.grpcPort);
  try {
    await rejects(
      () => c.listQueues({ parent: PARENT }, { autoPaginate: false }),
      Code.UNAUTHENTICATED,
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
    );
    const auth = (token) => ({ otherArgs: { headers: { authorization: `Bearer ${token}` } } });
    await rejects(() => c.getQueue({ name: queueName('x') }, auth('tok-grpc-2')), Code.UNAUTHENTICATED);
    const [created] = await c.createQueue({ parent: PARENT, queue: { name: queueName('g-auth') } }, auth('tok-grpc-1'));
    assert.equal(created.name, queueName('g-auth'));
  } finally {
    await c.close();
    await guarded.stop();
    guarded.cleanup();
  }
});
