// A table of bad requests against the real binary: each with its exact HTTP status, google.rpc
// status and message. Google's recorded texts (../shared/reference/cloud-tasks.md) are matched
// verbatim; the others are the server's own (src/tasks/messages.h, validation.cc, json.cc).
// Then transport-level abuse over raw sockets, and the server must still be serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer } from './lib/server.mjs';
import { call } from './lib/rest.mjs';

const MAX_REQUEST_BYTES = 2_000_000;
const P = 'projects/bad-proj/locations/us-central1';
const Q = `${P}/queues/q`;
// Targets are a closed local port: accepted tasks may be dispatched, never off the machine.
const url = 'http://127.0.0.1:9/h';

const QUEUE_FORMAT =
  'Queue name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>".';
const QUEUE_MISSING =
  'Queue does not exist. If you just created the queue, wait at least a minute for the queue to initialize.';
const ENTITY_MISSING = 'Requested entity was not found.';
const taskIdMessage = (id) =>
  `Task ID "${id}" can contain only letters ([A-Za-z]), numbers ([0-9]), hyphens (-), or underscores (_). Task ID must between 1 and 500 characters.`;
const DEADLINE = 'Task.dispatchDeadline must be between [15s, 30m].';

let server;

before(async () => {
  server = await startServer({ args: ['--max-request-bytes', String(MAX_REQUEST_BYTES), '--queue-reuse-window', '1h'] });
  for (const name of [Q, `${P}/queues/other`, `${P}/queues/deleted-recently`]) {
    const r = await call(server.url, 'POST', `/v2/${P}/queues`, { body: { name } });
    assert.equal(r.status, 200, r.text);
  }
  const d = await call(server.url, 'DELETE', `/v2/${P}/queues/deleted-recently`);
  assert.equal(d.status, 200, d.text);
  const t = await call(server.url, 'POST', `/v2/${Q}/tasks`, { body: { task: { name: `${Q}/tasks/exists`, httpRequest: { url } } } });
  assert.equal(t.status, 200, t.text);
});

after(async () => {
  if (server) {
    const exit = await server.stop();
    server.cleanup();
    assert.equal(exit.code, 0, 'clean exit after the abuse');
  }
});

const createQueue = (body) => ({ method: 'POST', path: `/v2/${P}/queues`, body });
const createTask = (task, extra = {}) => ({ method: 'POST', path: `/v2/${Q}/tasks`, body: { task, ...extra } });
const bad = (message) => [400, 'INVALID_ARGUMENT', message];

// Thirty-one days ahead, whole seconds (the message echoes the time in Google's form).
const tooFar = new Date(Date.now() + 31 * 86_400_000);
tooFar.setUTCMilliseconds(0);
const tooFarText = tooFar.toISOString().replace('.000Z', 'Z');

const table = [
  // --- queue names and config ---
  ['bad queue name', createQueue({ name: 'q' }), bad(QUEUE_FORMAT)],
  ['queue name missing', createQueue({}), bad(QUEUE_FORMAT)],
  ['queue id too long (101)', createQueue({ name: `${P}/queues/${'a'.repeat(101)}` }), bad(QUEUE_FORMAT)],
  ['queue id with underscore', createQueue({ name: `${P}/queues/my_queue` }), bad(QUEUE_FORMAT)],
  ['queue id with dot', createQueue({ name: `${P}/queues/my.queue` }), bad(QUEUE_FORMAT)],
  ['queue name with extra segment', createQueue({ name: `${P}/queues/q/x` }), bad(QUEUE_FORMAT)],
  [
    'queue under another location',
    createQueue({ name: 'projects/bad-proj/locations/europe-west1/queues/q2' }),
    bad(`projects/bad-proj/locations/europe-west1/queues/q2 must begin with ${P}.`),
  ],
  ['queue exists', createQueue({ name: Q }), [409, 'ALREADY_EXISTS', 'Queue already exists']],
  [
    'queue deleted too recently',
    createQueue({ name: `${P}/queues/deleted-recently` }),
    [400, 'FAILED_PRECONDITION', 'The queue cannot be created because a queue with this name existed too recently.'],
  ],
  [
    'maxAttempts -2',
    createQueue({ name: `${P}/queues/n1`, retryConfig: { maxAttempts: -2 } }),
    bad('RetryConfig.maxAttempts must be greater or equal to -1.'),
  ],
  [
    'minBackoff > maxBackoff',
    createQueue({ name: `${P}/queues/n1`, retryConfig: { minBackoff: '100s', maxBackoff: '10s' } }),
    bad('RetryConfig.minBackoff must be less than or equal to RetryConfig.maxBackoff.'),
  ],
  [
    'maxDoublings negative',
    createQueue({ name: `${P}/queues/n1`, retryConfig: { maxDoublings: -1 } }),
    bad('RetryConfig.maxDoublings cannot be negative.'),
  ],
  [
    'rate 501',
    createQueue({ name: `${P}/queues/n1`, rateLimits: { maxDispatchesPerSecond: 501 } }),
    bad('RateLimits.maxDispatchesPerSecond must be less than or equal to 500.'),
  ],
  [
    'rate negative',
    createQueue({ name: `${P}/queues/n1`, rateLimits: { maxDispatchesPerSecond: -1 } }),
    bad('RateLimits.maxDispatchesPerSecond cannot be negative.'),
  ],
  [
    'maxConcurrentDispatches 5001',
    createQueue({ name: `${P}/queues/n1`, rateLimits: { maxConcurrentDispatches: 5001 } }),
    bad('RateLimits.maxConcurrentDispatches must be less than or equal to 5000.'),
  ],
  [
    'samplingRatio 2',
    createQueue({ name: `${P}/queues/n1`, stackdriverLoggingConfig: { samplingRatio: 2 } }),
    bad('StackdriverLoggingConfig.samplingRatio must be between 0.0 and 1.0.'),
  ],
  // --- JSON shape ---
  [
    'unknown field in a queue',
    createQueue({ name: `${P}/queues/n1`, colour: 'red' }),
    bad('Invalid JSON payload received. Unknown name "colour" at \'queue\': Cannot find field.'),
  ],
  [
    'unknown nested field',
    createQueue({ name: `${P}/queues/n1`, rateLimits: { bogus: 1 } }),
    bad('Invalid JSON payload received. Unknown name "bogus" at \'queue.rate_limits\': Cannot find field.'),
  ],
  [
    // Google omits " at ''" for a top-level field: `Unknown name "thinking": Cannot find field.`
    // (recorded from Google's ESF, e.g. github.com/decolua/9router/issues/1876).
    'unknown top-level field of CreateTaskRequest',
    createTask({ httpRequest: { url } }, { priority: 1 }),
    bad('Invalid JSON payload received. Unknown name "priority": Cannot find field.'),
  ],
  [
    'unknown field in a task',
    createTask({ httpRequest: { url }, colour: 1 }),
    bad('Invalid JSON payload received. Unknown name "colour" at \'task\': Cannot find field.'),
  ],
  [
    'rate as a word',
    createQueue({ name: `${P}/queues/n1`, rateLimits: { maxDispatchesPerSecond: 'fast' } }),
    bad('Invalid value at \'queue.rate_limits.max_dispatches_per_second\' (TYPE_DOUBLE), "fast"'),
  ],
  [
    'maxAttempts as a boolean',
    createQueue({ name: `${P}/queues/n1`, retryConfig: { maxAttempts: true } }),
    bad("Invalid value at 'queue.retry_config.max_attempts' (TYPE_INT32), true"),
  ],
  [
    // Out of int32 range: Google rejects it as a TYPE_INT32 value, it is not clamped.
    'maxAttempts beyond int32',
    createQueue({ name: `${P}/queues/int32`, retryConfig: { maxAttempts: 3000000000 } }),
    bad("Invalid value at 'queue.retry_config.max_attempts' (TYPE_INT32), 3000000000"),
  ],
  [
    'minBackoff as a number',
    createQueue({ name: `${P}/queues/n1`, retryConfig: { minBackoff: 5 } }),
    bad("Invalid value at 'queue.retry_config.min_backoff' (type.googleapis.com/google.protobuf.Duration), 5"),
  ],
  [
    'unknown queue state',
    createQueue({ name: `${P}/queues/n1`, state: 'SLEEPING' }),
    bad('Invalid value at \'queue.state\' (type.googleapis.com/google.cloud.tasks.v2.Queue.State), "SLEEPING"'),
  ],
  [
    'rateLimits as a string',
    createQueue({ name: `${P}/queues/n1`, rateLimits: 'x' }),
    bad('Invalid JSON payload received. Expected an object at \'queue.rate_limits\', got "x".'),
  ],
  [
    'task as a string',
    { method: 'POST', path: `/v2/${Q}/tasks`, body: { task: 'x' } },
    bad('Invalid JSON payload received. Expected an object at \'task\', got "x".'),
  ],
  [
    'headers as a list',
    createTask({ httpRequest: { url, headers: ['a'] } }),
    bad('Invalid value at \'task.http_request.headers\' (map<string, string>), ["a"]'),
  ],
  [
    'unknown http method',
    createTask({ httpRequest: { url, httpMethod: 'FETCH' } }),
    bad('Invalid value at \'task.http_request.http_method\' (type.googleapis.com/google.cloud.tasks.v2.HttpMethod), "FETCH"'),
  ],
  [
    'body not base64',
    createTask({ httpRequest: { url, body: '%%%' } }),
    bad('Invalid value at \'task.http_request.body\' (TYPE_BYTES), "%%%"'),
  ],
  [
    'scheduleTime not a timestamp',
    createTask({ httpRequest: { url }, scheduleTime: 'tomorrow' }),
    bad('Invalid value at \'task.schedule_time\' (type.googleapis.com/google.protobuf.Timestamp), "tomorrow"'),
  ],
  [
    'malformed JSON',
    { method: 'POST', path: `/v2/${P}/queues`, body: '{"name": ' },
    bad('Invalid JSON payload received. Unexpected token or malformed JSON.'),
  ],
  [
    // Google: `Unknown name "": Root element must be a message.` (recorded from Google's ESF,
    // e.g. github.com/google-wallet/rest-samples/issues/22).
    'non-object body (array) to tasks.create',
    { method: 'POST', path: `/v2/${Q}/tasks`, body: '[1,2]' },
    bad('Invalid JSON payload received. Unknown name "": Root element must be a message.'),
  ],
  [
    'non-object body (string) to queues.create',
    { method: 'POST', path: `/v2/${P}/queues`, body: '"q"' },
    bad('Invalid JSON payload received. Unknown name "": Root element must be a message.'),
  ],
  // --- tasks ---
  ['no task', { method: 'POST', path: `/v2/${Q}/tasks`, body: {} }, bad('Task is required.')],
  ['task without payload', createTask({}), bad('Task.payload_type is not set.')],
  [
    'both payload types',
    createTask({ httpRequest: { url }, appEngineHttpRequest: { relativeUri: '/x' } }),
    bad('Task can set only one of httpRequest and appEngineHttpRequest.'),
  ],
  ['missing url', createTask({ httpRequest: {} }), bad('HttpRequest.url is required.')],
  ['ftp:// url', createTask({ httpRequest: { url: 'ftp://example.com/x' } }), bad("HttpTarget.url must start with 'http://' or 'https://'.")],
  ['url without scheme', createTask({ httpRequest: { url: 'example.com/x' } }), bad("HttpTarget.url must start with 'http://' or 'https://'.")],
  [
    'url of 2084 chars',
    createTask({ httpRequest: { url: 'https://e.com/' + 'a'.repeat(2084 - 14) } }),
    bad('HttpRequest.url must be at most 2083 characters.'),
  ],
  [
    'body with GET',
    createTask({ httpRequest: { url, httpMethod: 'GET', body: 'aGk=' } }),
    bad('HttpRequest.body can be set only when HttpRequest.httpMethod is POST, PUT or PATCH.'),
  ],
  [
    'body with DELETE (enum as integer)',
    createTask({ httpRequest: { url, httpMethod: 5, body: 'aGk=' } }),
    bad('HttpRequest.body can be set only when HttpRequest.httpMethod is POST, PUT or PATCH.'),
  ],
  [
    'headers of 80KB',
    createTask({ httpRequest: { url, headers: { 'X-Big': 'a'.repeat(80 * 1024 - 5 - 4) } } }),
    bad('HttpRequest.headers must be less than 80KB.'),
  ],
  [
    'both oidcToken and oauthToken',
    createTask({
      httpRequest: { url, oidcToken: { serviceAccountEmail: 'a@b.c' }, oauthToken: { serviceAccountEmail: 'a@b.c' } },
    }),
    bad('HttpRequest can set only one of oauthToken and oidcToken.'),
  ],
  ['dispatchDeadline 5s', createTask({ httpRequest: { url }, dispatchDeadline: '5s' }), bad(DEADLINE)],
  ['dispatchDeadline 14.999s', createTask({ httpRequest: { url }, dispatchDeadline: '14.999s' }), bad(DEADLINE)],
  ['dispatchDeadline 31m', createTask({ httpRequest: { url }, dispatchDeadline: '1860s' }), bad(DEADLINE)],
  [
    'scheduleTime 31 days ahead',
    createTask({ httpRequest: { url }, scheduleTime: tooFarText }),
    bad(`The Task.scheduleTime, ${tooFarText}, is too far in the future. Schedule time must be no more than 720h in the future.`),
  ],
  [
    'task over 1 MB',
    createTask({ httpRequest: { url, body: Buffer.alloc(1024 * 1024, 'x').toString('base64') } }),
    bad('Task size too large'),
  ],
  ['invalid task id', createTask({ name: `${Q}/tasks/bad!id`, httpRequest: { url } }), bad(taskIdMessage('bad!id'))],
  ['task id with dot', createTask({ name: `${Q}/tasks/a.b`, httpRequest: { url } }), bad(taskIdMessage('a.b'))],
  ['task id too long (501)', createTask({ name: `${Q}/tasks/${'t'.repeat(501)}`, httpRequest: { url } }), bad(taskIdMessage('t'.repeat(501)))],
  [
    'task name under another queue',
    createTask({ name: `${P}/queues/other/tasks/t1`, httpRequest: { url } }),
    bad(`The queue name from request ('${Q}') must be the same as the queue name in the named task ('${P}/queues/other').`),
  ],
  [
    'duplicate task',
    createTask({ name: `${Q}/tasks/exists`, httpRequest: { url } }),
    [409, 'ALREADY_EXISTS', 'Requested entity already exists'],
  ],
  [
    'task in a missing queue',
    { method: 'POST', path: `/v2/${P}/queues/nope/tasks`, body: { task: { httpRequest: { url } } } },
    [404, 'NOT_FOUND', QUEUE_MISSING],
  ],
  ['get missing queue', { method: 'GET', path: `/v2/${P}/queues/nope` }, [404, 'NOT_FOUND', QUEUE_MISSING]],
  ['pause missing queue', { method: 'POST', path: `/v2/${P}/queues/nope:pause`, body: {} }, [404, 'NOT_FOUND', QUEUE_MISSING]],
  ['purge missing queue', { method: 'POST', path: `/v2/${P}/queues/nope:purge`, body: {} }, [404, 'NOT_FOUND', QUEUE_MISSING]],
  ['delete missing queue', { method: 'DELETE', path: `/v2/${P}/queues/nope` }, [404, 'NOT_FOUND', ENTITY_MISSING]],
  ['get missing task', { method: 'GET', path: `/v2/${Q}/tasks/nope` }, [404, 'NOT_FOUND', ENTITY_MISSING]],
  ['delete missing task', { method: 'DELETE', path: `/v2/${Q}/tasks/nope` }, [404, 'NOT_FOUND', ENTITY_MISSING]],
  ['run missing task', { method: 'POST', path: `/v2/${Q}/tasks/nope:run`, body: {} }, [404, 'NOT_FOUND', ENTITY_MISSING]],
  // --- queue patch ---
  [
    'updateMask with an unknown field',
    { method: 'PATCH', path: `/v2/${Q}?updateMask=colour`, body: { name: Q } },
    bad('Invalid update_mask provided: the field path "colour" is not an updatable Queue field.'),
  ],
  [
    'patch body names another queue',
    { method: 'PATCH', path: `/v2/${Q}?updateMask=retryConfig.maxAttempts`, body: { name: `${P}/queues/other` } },
    bad('The queue name in the request body must match the queue name in the URL.'),
  ],
  [
    'patch to an invalid value',
    { method: 'PATCH', path: `/v2/${Q}?updateMask=rateLimits.maxDispatchesPerSecond`, body: { rateLimits: { maxDispatchesPerSecond: 1000 } } },
    bad('RateLimits.maxDispatchesPerSecond must be less than or equal to 500.'),
  ],
  // --- project and location ---
  [
    'invalid project id',
    { method: 'POST', path: '/v2/projects/bad!proj/locations/us-central1/queues', body: { name: 'projects/bad!proj/locations/us-central1/queues/q' } },
    [403, 'PERMISSION_DENIED', 'Permission denied on resource project bad!proj.'],
  ],
  [
    'invalid location id',
    { method: 'GET', path: '/v2/projects/bad-proj/locations/us.central1/queues' },
    bad("Location 'us.central1' is not a valid location. Use ListLocations to list valid locations."),
  ],
  // --- listing ---
  ['invalid queue page token', { method: 'GET', path: `/v2/${P}/queues?pageToken=garbage` }, bad('Invalid page token.')],
  ['invalid task page token', { method: 'GET', path: `/v2/${Q}/tasks?pageToken=%40%40%40` }, bad('Invalid page token.')],
  [
    // A well-formed token of another listing is not accepted either.
    'queue page token used for tasks',
    { method: 'GET', path: `/v2/${Q}/tasks?pageToken=${Buffer.from('v1|projects/x').toString('base64url')}` },
    bad('Invalid page token.'),
  ],
  ['negative queue pageSize', { method: 'GET', path: `/v2/${P}/queues?pageSize=-1` }, bad('page_size must not be negative.')],
  ['negative task pageSize', { method: 'GET', path: `/v2/${Q}/tasks?pageSize=-5` }, bad('page_size must not be negative.')],
  ['pageSize not a number', { method: 'GET', path: `/v2/${Q}/tasks?pageSize=ten` }, bad('Invalid value at \'page_size\' (TYPE_INT32), "ten"')],
  [
    'bad filter',
    { method: 'GET', path: `/v2/${P}/queues?filter=${encodeURIComponent('name:foo')}` },
    bad('Invalid filter "name:foo": stratus supports "state: RUNNING|PAUSED|DISABLED".'),
  ],
  [
    'bad responseView',
    { method: 'GET', path: `/v2/${Q}/tasks/exists?responseView=SUPER` },
    bad('Invalid value at \'response_view\' (type.googleapis.com/google.cloud.tasks.v2.Task.View), "SUPER"'),
  ],
  // --- routing ---
  ['unknown path', { method: 'GET', path: '/v2/nope' }, [404, 'NOT_FOUND', 'The requested URL /v2/nope was not found on this server.']],
  ['unknown custom verb', { method: 'POST', path: `/v2/${Q}:explode`, body: {} }, [404, 'NOT_FOUND', `The requested URL /v2/${Q}:explode was not found on this server.`]],
  ['unknown verb', { method: 'PUT', path: `/v2/${Q}`, body: {} }, [405, 'UNIMPLEMENTED', `Method PUT is not allowed for /v2/${Q}.`]],
];

for (const [name, req, [status, rpcStatus, message]] of table) {
  test(`${status} ${rpcStatus}: ${name}`, async () => {
    const r = await call(server.url, req.method, req.path, { body: req.body });
    assert.equal(r.status, status, `HTTP status for ${req.method} ${req.path}: ${r.text.slice(0, 500)}`);
    assert.ok(r.json?.error, `google.rpc.Status body expected, got: ${r.text.slice(0, 500)}`);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(r.json.error.code, status, 'error.code is the HTTP status');
    assert.equal(r.json.error.status, rpcStatus);
    assert.equal(r.json.error.message, message);
  });
}

test('valid edges are accepted: url of 2083 chars, deadlines of 15s and 30m, scheduleTime in the past is now', async () => {
  const long = 'http://127.0.0.1:9/' + 'a'.repeat(2083 - 19);
  for (const task of [
    { httpRequest: { url: long } },
    { httpRequest: { url }, dispatchDeadline: '15s' },
    { httpRequest: { url }, dispatchDeadline: '1800s' },
    { httpRequest: { url, httpMethod: 'PATCH', body: 'aGk=' } },
    { httpRequest: { url }, scheduleTime: new Date(Date.now() + 29 * 86_400_000).toISOString() },
  ]) {
    const r = await call(server.url, 'POST', `/v2/${Q}/tasks`, { body: { task } });
    assert.equal(r.status, 200, `${JSON.stringify(task).slice(0, 200)}: ${r.text.slice(0, 300)}`);
  }
  // A numeric UTC offset is accepted; replies are always in Z.
  const off = await call(server.url, 'POST', `/v2/${Q}/tasks`, {
    body: { task: { httpRequest: { url }, scheduleTime: '2030-01-01T10:00:00.5+02:00' } },
  });
  if (Date.parse('2030-01-01T08:00:00.500Z') - Date.now() > 30 * 86_400_000) {
    // (far future: rejected, but the echoed time is in Z)
    assert.equal(off.status, 400, off.text);
    assert.match(off.json.error.message, /The Task\.scheduleTime, 2030-01-01T08:00:00\.500Z, is too far/);
  }
  const soon = new Date(Date.now() + 86_400_000);
  soon.setUTCMilliseconds(0);
  const local = new Date(soon.getTime() + 5.5 * 3600_000).toISOString().replace('.000Z', '+05:30');
  const off2 = await call(server.url, 'POST', `/v2/${Q}/tasks`, { body: { task: { httpRequest: { url }, scheduleTime: local } } });
  assert.equal(off2.status, 200, off2.text);
  assert.equal(off2.json.scheduleTime, soon.toISOString().replace('.000Z', 'Z'));

  const t0 = Date.now();
  const r = await call(server.url, 'POST', `/v2/${Q}/tasks`, {
    body: { task: { httpRequest: { url }, scheduleTime: '2001-02-03T04:05:06.789Z' } },
  });
  const t1 = Date.now();
  assert.equal(r.status, 200, r.text);
  const scheduled = Date.parse(r.json.scheduleTime);
  assert.ok(scheduled >= t0 - 1000 && scheduled <= t1 + 1000, `scheduleTime ${r.json.scheduleTime} is not now`);
  assert.match(r.json.scheduleTime, /Z$/);
});

// Sends raw bytes on a fresh connection and collects everything until the server closes it
// (or until the reply is complete when `keepOpen` is false and nothing more comes).
function raw(port, bytes, { timeoutMs = 5000, halfClose = false } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got: ${Buffer.concat(chunks).toString().slice(0, 300)}`));
    }, timeoutMs);
    sock.on('connect', () => {
      sock.write(bytes);
      if (halfClose) sock.end();
    });
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', () => {}); // a reset after the reply is fine; judged on what arrived
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = text.match(/^HTTP\/1\.[01] (\d{3})/);
      const bodyStart = text.indexOf('\r\n\r\n');
      let json = null;
      try {
        json = JSON.parse(text.slice(bodyStart + 4));
      } catch {
        json = null;
      }
      resolve({ status: m ? Number(m[1]) : 0, text, json });
    });
  });
}

test('malformed HTTP over raw sockets gets a 4xx and the server keeps serving', async () => {
  const cases = [
    ['garbage request line', 'THIS IS NOT HTTP\r\n\r\n'],
    ['binary noise', Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a])],
    ['bad version', 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n'],
    ['header without colon', 'GET /healthz HTTP/1.1\r\nHost x\r\n\r\n'],
    ['bad content-length', `POST /v2/${P}/queues HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}`],
    ['two content-lengths', `POST /v2/${P}/queues HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`],
    ['bad chunk size', `POST /v2/${P}/queues HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`],
  ];
  for (const [name, bytes] of cases) {
    const r = await raw(server.port, bytes);
    assert.ok(r.status >= 400 && r.status < 500, `${name}: expected a 4xx, got: ${JSON.stringify(r.text.slice(0, 300))}`);
    assert.equal(r.json?.error?.code, r.status, `${name}: google.rpc.Status body: ${r.text.slice(0, 300)}`);
    assert.match(r.json.error.message, /^Malformed HTTP request: /, name);
    const h = await call(server.url, 'GET', '/healthz');
    assert.equal(h.status, 200, `server still serving after: ${name}`);
  }
  // A truncated request (connection half-closed mid-headers) gets no reply and breaks nothing.
  const truncated = await raw(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A', { halfClose: true });
  assert.ok(truncated.status === 0 || (truncated.status >= 400 && truncated.status < 500), truncated.text);
  // Headers larger than the server takes.
  const huge = await raw(server.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(200 * 1024)}\r\n\r\n`);
  assert.equal(huge.status, 431, huge.text.slice(0, 300));
  assert.equal(huge.json?.error?.code, 431);
  const h = await call(server.url, 'GET', '/healthz');
  assert.equal(h.status, 200);
});

test('a body over --max-request-bytes gets 413 without the server reading it all', async () => {
  // Declares 3 MB, sends the headers and a little: the reply must come from the header alone.
  const head =
    `POST /v2/${Q}/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${MAX_REQUEST_BYTES + 1_000_000}\r\n\r\n{"task":`;
  const r = await raw(server.port, head);
  assert.equal(r.status, 413, r.text.slice(0, 300));
  assert.deepEqual(r.json, {
    error: { code: 413, message: `Request body exceeds the limit of ${MAX_REQUEST_BYTES} bytes.`, status: 'RESOURCE_EXHAUSTED' },
  });
  const h = await call(server.url, 'GET', '/healthz');
  assert.equal(h.status, 200);
});

test('a real client uploading a body over --max-request-bytes reads the 413 (no reset before the reply)', async () => {
  // fetch sends the whole body without Expect: 100-continue; the server must let the client
  // read its 413 (RFC 9112 9.6: lingering close), not reset the connection under it.
  let status;
  try {
    const big = await call(server.url, 'POST', `/v2/${Q}/tasks`, {
      body: JSON.stringify({ task: { httpRequest: { url, body: Buffer.alloc(8 * MAX_REQUEST_BYTES, 'y').toString('base64') } } }),
    });
    status = big.status;
  } catch (e) {
    status = `connection error: ${e.cause?.code ?? e.message}`;
  }
  assert.equal(status, 413);
  const h = await call(server.url, 'GET', '/healthz');
  assert.equal(h.status, 200);
});

test('after the table the server still answers /healthz and its data is intact', async () => {
  const h = await call(server.url, 'GET', '/healthz');
  assert.equal(h.status, 200, h.text);
  const q = await call(server.url, 'GET', `/v2/${Q}`);
  assert.equal(q.status, 200, q.text);
  assert.equal(q.json.rateLimits.maxDispatchesPerSecond, 500, 'the rejected patch changed nothing');
  const names = await call(server.url, 'GET', `/v2/${P}/queues`);
  const listed = names.json.queues.map((x) => x.name);
  for (const n of [Q, `${P}/queues/other`]) assert.ok(listed.includes(n), `${n} missing from ${listed}`);
  assert.ok(!listed.includes(`${P}/queues/deleted-recently`));
});

// Runs on its own server so that a crash cannot take the table's server down with it.
test('deeply nested JSON gets a 400 and does not crash the server', async () => {
  const own = await startServer();
  try {
    const depth = 100_000; // 200 KB of brackets, far below --max-request-bytes
    for (const [path, body] of [
      [`/v2/${P}/queues`, '['.repeat(depth) + ']'.repeat(depth)],
      [`/v2/${P}/queues`, '{"name":' + '['.repeat(depth) + ']'.repeat(depth) + '}'],
      [`/v2/${P}/queues`, '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)],
    ]) {
      let r;
      try {
        r = await call(own.url, 'POST', path, { body });
      } catch (e) {
        assert.fail(`no reply to ${body.slice(0, 12)}... (depth ${depth}): ${e.cause?.code ?? e.message}`);
      }
      assert.equal(r.status, 400, r.text.slice(0, 300));
      assert.equal(r.json?.error?.status, 'INVALID_ARGUMENT');
      assert.match(r.json.error.message, /^Invalid JSON payload received\./);
      const h = await call(own.url, 'GET', '/healthz');
      assert.equal(h.status, 200);
    }
  } finally {
    await own.stop();
    own.cleanup();
  }
});
