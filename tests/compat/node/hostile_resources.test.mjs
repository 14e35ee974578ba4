// Hostile values inside otherwise well-formed Cloud Tasks resources, against the real binary:
// CR/LF and spaces in URLs and headers (they would be written raw into the request sent to
// the target), ports out of range, URLs without a host, retry durations whose schedule
// would leave the Timestamp range, absurd rates, tokens without a service account. Each
// gets 400 INVALID_ARGUMENT with a message naming the field, at create and at update.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { call } from './lib/rest.mjs';

const P = 'projects/hostile-proj/locations/us-central1';
const Q = `${P}/queues/q`;
const url = 'http://127.0.0.1:9/h';

let server;

before(async () => {
  server = await startServer();
  const r = await call(server.url, 'POST', `/v2/${P}/queues`, { body: { name: Q } });
  assert.equal(r.status, 200, r.text);
  const pause = await call(server.url, 'POST', `/v2/${Q}:pause`, { body: {} });
  assert.equal(pause.status, 200, pause.text);
});

after(async () => {
  if (server) {
    const exit = await server.stop();
    server.cleanup();
    assert.equal(exit.code, 0, 'clean exit');
  }
});

let n = 0;
const createQueue = (extra) => ({ method: 'POST', path: `/v2/${P}/queues`, body: { name: `${P}/queues/h${++n}`, ...extra } });
const patchQueue = (extra, mask) => ({ method: 'PATCH', path: `/v2/${Q}?updateMask=${mask}`, body: extra });
const createTask = (task) => ({ method: 'POST', path: `/v2/${Q}/tasks`, body: { task } });
const http = (extra) => createTask({ httpRequest: { url, ...extra } });
const bad = (message) => [400, 'INVALID_ARGUMENT', message];

const NO_CONTROL = 'HttpRequest.url must not contain spaces or control characters.';
const NO_HOST = 'HttpRequest.url must name a host.';
const BAD_HOST = 'HttpRequest.url has an invalid host.';
const BAD_PORT = 'HttpRequest.url has an invalid port; a port must be between 1 and 65535.';
const BAD_NAME =
  "HttpRequest.headers has an invalid header name; a header name must be a non-empty RFC 9110 token (letters, digits and !#$%&'*+-.^_`|~).";
const badValue = (field, name) =>
  `${field}["${name}"] has an invalid value; a header value must not contain control characters such as CR or LF.`;
const TARGET_PORT = 'HttpTarget.uriOverride.port must be between 1 and 65535.';
const TARGET_HOST = 'HttpTarget.uriOverride.host must be a host name or an IP address.';
const HUNDRED_YEARS = 'RetryConfig.maxBackoff must be at most 3153600000s (100 years).';
const RATE = 'RateLimits.maxDispatchesPerSecond must be at least 0.000000001 (one dispatch in about 32 years).';
const EMAIL = (f) => `${f}.serviceAccountEmail must be an email address, such as name@project.iam.gserviceaccount.com.`;

const table = [
  // --- request smuggling through a task ---
  ['url with CRLF and a second request', http({ url: `${url}\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n` }), bad(NO_CONTROL)],
  ['url with LF', http({ url: `${url}\n` }), bad(NO_CONTROL)],
  ['url with a space', http({ url: 'http://127.0.0.1:9/a b' }), bad(NO_CONTROL)],
  ['url with NUL', http({ url: `${url}\u0000` }), bad(NO_CONTROL)],
  ['header value with CRLF', http({ headers: { 'X-A': '1\r\nX-Injected: 2' } }), bad(badValue('HttpRequest.headers', 'X-A'))],
  ['header name with CRLF', http({ headers: { 'X\r\nInjected': '1' } }), bad(BAD_NAME)],
  ['header name with a space', http({ headers: { 'X A': '1' } }), bad(BAD_NAME)],
  ['empty header name', http({ headers: { '': '1' } }), bad(BAD_NAME)],
  ['header name with a colon', http({ headers: { 'X-A:': '1' } }), bad(BAD_NAME)],
  [
    'App Engine relativeUri with CRLF',
    createTask({ appEngineHttpRequest: { relativeUri: '/x HTTP/1.1\r\nX: y' } }),
    bad('AppEngineHttpRequest.relativeUri must not contain spaces or control characters.'),
  ],
  [
    'App Engine header value with LF',
    createTask({ appEngineHttpRequest: { relativeUri: '/x', headers: { 'X-A': 'a\nb' } } }),
    bad(badValue('AppEngineHttpRequest.headers', 'X-A')),
  ],
  // --- URLs and ports ---
  ['url http://', http({ url: 'http://' }), bad(NO_HOST)],
  ['url http://:80/', http({ url: 'http://:80/' }), bad(NO_HOST)],
  ['url http://[::1/', http({ url: 'http://[::1/' }), bad(BAD_HOST)],
  ['url port 114689', http({ url: 'http://127.0.0.1:114689/' }), bad(BAD_PORT)],
  ['url port 99999999999', http({ url: 'http://127.0.0.1:99999999999/' }), bad(BAD_PORT)],
  ['url port 0', http({ url: 'http://127.0.0.1:0/' }), bad(BAD_PORT)],
  ['queue uriOverride.port 99999999999 (number)', createQueue({ httpTarget: { uriOverride: { port: 99999999999 } } }), bad(TARGET_PORT)],
  ['queue uriOverride.port "114689" (int64 as a string)', createQueue({ httpTarget: { uriOverride: { port: '114689' } } }), bad(TARGET_PORT)],
  ['queue uriOverride.port -5', createQueue({ httpTarget: { uriOverride: { port: -5 } } }), bad(TARGET_PORT)],
  ['queue uriOverride.host with CRLF', createQueue({ httpTarget: { uriOverride: { host: 'x\r\nX: y' } } }), bad(TARGET_HOST)],
  [
    'queue uriOverride.pathOverride with CRLF',
    createQueue({ httpTarget: { uriOverride: { pathOverride: { path: '/p HTTP/1.1\r\nX: y' } } } }),
    bad('HttpTarget.uriOverride.pathOverride.path must not contain spaces or control characters.'),
  ],
  [
    'queue headerOverrides value with CRLF',
    createQueue({ httpTarget: { headerOverrides: [{ header: { key: 'X-A', value: '1\r\nX-B: 2' } }] } }),
    bad('HttpTarget.headerOverrides[0].header.value must not contain control characters such as CR or LF.'),
  ],
  [
    'queue headerOverrides with a spaced key',
    createQueue({ httpTarget: { headerOverrides: [{ header: { key: 'X A', value: '1' } }] } }),
    bad("HttpTarget.headerOverrides[0].header.key must be a non-empty RFC 9110 token (letters, digits and !#$%&'*+-.^_`|~)."),
  ],
  ['patch uriOverride.port -5', patchQueue({ httpTarget: { uriOverride: { port: '-5' } } }, 'httpTarget'), bad(TARGET_PORT)],
  // --- values out of range ---
  [
    'minBackoff and maxBackoff of 10000 years',
    createQueue({ retryConfig: { minBackoff: '315576000000s', maxBackoff: '315576000000s' } }),
    bad(HUNDRED_YEARS),
  ],
  ['patch maxBackoff of 10000 years', patchQueue({ retryConfig: { maxBackoff: '315576000000s' } }, 'retryConfig.maxBackoff'), bad(HUNDRED_YEARS)],
  [
    'maxRetryDuration of 10000 years',
    createQueue({ retryConfig: { maxRetryDuration: '315576000000s' } }),
    bad('RetryConfig.maxRetryDuration must be at most 3153600000s (100 years).'),
  ],
  ['maxDispatchesPerSecond 1e-300', createQueue({ rateLimits: { maxDispatchesPerSecond: 1e-300 } }), bad(RATE)],
  ['maxDispatchesPerSecond 5e-324 (denormal)', createQueue({ rateLimits: { maxDispatchesPerSecond: 5e-324 } }), bad(RATE)],
  ['dispatchDeadline of 10000 years', createTask({ httpRequest: { url }, dispatchDeadline: '315576000000s' }), bad('Task.dispatchDeadline must be between [15s, 30m].')],
  // --- tokens ---
  [
    'oidcToken without serviceAccountEmail',
    http({ oidcToken: { audience: 'https://x' } }),
    bad('HttpRequest.oidcToken.serviceAccountEmail is required.'),
  ],
  ['oidcToken with an empty serviceAccountEmail', http({ oidcToken: { serviceAccountEmail: '' } }), bad('HttpRequest.oidcToken.serviceAccountEmail is required.')],
  ['oauthToken with a malformed serviceAccountEmail', http({ oauthToken: { serviceAccountEmail: 'not an email' } }), bad(EMAIL('HttpRequest.oauthToken'))],
  ['queue oidcToken with an empty serviceAccountEmail', createQueue({ httpTarget: { oidcToken: { serviceAccountEmail: '' } } }), bad('HttpTarget.oidcToken.serviceAccountEmail is required.')],
];

for (const [name, req, [status, rpcStatus, message]] of table) {
  test(`${status} ${rpcStatus}: ${name}`, async () => {
    const r = await call(server.url, req.method, req.path, { body: req.body });
    assert.equal(r.status, status, `HTTP status for ${req.method} ${req.path}: ${r.text.slice(0, 500)}`);
    assert.ok(r.json?.error, `google.rpc.Status body expected, got: ${r.text.slice(0, 500)}`);
    assert.equal(r.json.error.code, status);
    assert.equal(r.json.error.status, rpcStatus);
    assert.equal(r.json.error.message, message);
  });
}

test('well-formed edges are accepted: IPv6 literal, port 65535, tab and UTF-8 in values, slowest rate', async () => {
  for (const u of ['http://[::1]:9/h', 'http://127.0.0.1:65535/h', 'http://user:pw@localhost:9/p?q=a%20b']) {
    const r = await call(server.url, 'POST', `/v2/${Q}/tasks`, { body: { task: { httpRequest: { url: u } } } });
    assert.equal(r.status, 200, `${u}: ${r.text}`);
  }
  const h = await call(server.url, 'POST', `/v2/${Q}/tasks`, {
    body: { task: { httpRequest: { url, headers: { 'X-Tab': 'a\tb', 'X-Utf8': 'café' }, oidcToken: { serviceAccountEmail: 'sa@p.iam.gserviceaccount.com' } } } },
  });
  assert.equal(h.status, 200, h.text);
  assert.equal(h.json.httpRequest.headers['X-Utf8'], 'café');
  const q = await call(server.url, 'POST', `/v2/${P}/queues`, {
    body: {
      name: `${P}/queues/edges`,
      rateLimits: { maxDispatchesPerSecond: 1e-9 },
      retryConfig: { minBackoff: '3153600000s', maxBackoff: '3153600000s' },
      httpTarget: { uriOverride: { host: '::1', port: '65535' }, headerOverrides: [{ header: { key: 'X-A', value: 'v' } }] },
    },
  });
  assert.equal(q.status, 200, q.text);
  assert.equal(q.json.httpTarget.uriOverride.port, '65535');
});
