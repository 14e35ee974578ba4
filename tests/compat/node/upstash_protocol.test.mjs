// The Redis REST protocol at the wire: bad input with its exact replies, the path form,
// argument conversion, the read-only token, and durability across stop/start and kill -9
// for both fsync policies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';

const TOKEN = 'test-token';
const RO_TOKEN = 'read-only-token';
// The token `call` sends by default (durability tests use the generated one).
let currentToken = TOKEN;

async function withServer(args, fn, dataDir) {
  const server = await startServer({ args: ['--redis-token', TOKEN, '--redis-readonly-token', RO_TOKEN, ...args], dataDir });
  try {
    return await fn(server.urls['Redis REST API'], server);
  } finally {
    await server.stop();
    if (!dataDir) server.cleanup();
  }
}

async function call(url, path, { body, method = 'POST', token = currentToken, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const res = await fetch(url + path, { method, headers: h, body: typeof body === 'string' || body === undefined ? body : JSON.stringify(body) });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

// Sends only the headers of an oversized request and reads the answer: deterministic,
// unlike racing a client that is still writing a body the server already refused.
function rawHeadersOnly(url, headers) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname, () => sock.write(headers));
    let data = '';
    sock.on('data', (c) => (data += c.toString()));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
}

test('bad input gets its exact reply', async () => {
  await withServer([], async (url) => {
    const cases = [
      ['/', 'nope', 400, '{"error":"ERR the request body is not valid JSON"}'],
      ['/', '{"a":1}', 400, '{"error":"ERR the command must be a JSON array, like [\\"set\\",\\"key\\",\\"value\\"]"}'],
      ['/', '[]', 400, '{"error":"ERR empty command"}'],
      ['/', '["nosuch","a","b"]', 400, `{"error":"ERR unknown command 'nosuch', with args beginning with: 'a' 'b' "}`],
      ['/', '["get"]', 400, `{"error":"ERR wrong number of arguments for 'get' command"}`],
      ['/', '["set","k",{}]', 400, '{"error":"ERR command arguments must be strings, numbers or booleans, got object"}'],
      ['/', '["set","k",null]', 400, '{"error":"ERR command arguments must be strings, numbers or booleans, got null"}'],
      ['/pipeline', '["get","k"]', 400, '{"error":"ERR the body must be a JSON array of commands, like [[\\"set\\",\\"k\\",\\"v\\"],[\\"get\\",\\"k\\"]]"}'],
      ['/pipeline', '[]', 400, '{"error":"ERR empty pipeline"}'],
      ['/pipeline', '[["set","k","v"],["nosuch"],["get","k"]]', 200, `[{"result":"OK"},{"error":"ERR unknown command 'nosuch', with args beginning with: "},{"result":"v"}]`],
      ['/multi-exec', '[["set","k","v"],["get"]]', 400, '{"error":"EXECABORT Transaction discarded because of previous errors."}'],
      ['/multi-exec', '[["set","k","v"],["incr","k"],["get","k"]]', 200, '[{"result":"OK"},{"error":"ERR value is not an integer or out of range"},{"result":"v"}]'],
    ];
    for (const [path, body, status, text] of cases) {
      const r = await call(url, path, { body });
      assert.equal(r.status, status, `${path} ${body}: ${r.text}`);
      assert.equal(r.text, text, `${path} ${body}`);
      assert.equal(r.type, 'application/json');
    }
    assert.deepEqual(await call(url, '/', { body: '["get","k"]', token: 'wrong' }),
      { status: 401, text: '{"error":"WRONGPASS invalid or missing auth token"}', type: 'application/json' });
    assert.deepEqual(await call(url, '/', { body: '["get","k"]', token: null }),
      { status: 401, text: '{"error":"WRONGPASS invalid or missing auth token"}', type: 'application/json' });
    assert.deepEqual(await call(url, '/', { method: 'DELETE' }),
      { status: 405, text: '{"error":"ERR method DELETE is not allowed"}', type: 'application/json' });
    assert.deepEqual(await call(url, '/get/k', { method: 'PATCH' }),
      { status: 405, text: '{"error":"ERR method PATCH is not allowed"}', type: 'application/json' });
    const huge = await rawHeadersOnly(url, `POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 10485761\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 413 /);
    assert.ok(huge.endsWith('{"error":"ERR max request size exceeded. Request body exceeds the limit of 10485760 bytes."}'), huge);
    // A body at the limit's edge is still served.
    const big = 'x'.repeat(9 * 1024 * 1024);
    assert.equal((await call(url, '/', { body: JSON.stringify(['set', 'big', big]) })).text, '{"result":"OK"}');
    assert.equal((await call(url, '/', { body: '["strlen","big"]' })).text, `{"result":${big.length}}`);
  });
});

test('path form, argument conversion, encodings, read-only token', async () => {
  await withServer([], async (url) => {
    const get = async (path, opts) => (await call(url, path, { method: 'GET', ...opts })).text;
    assert.equal(await get('/set/pk/v1/EX/100'), '{"result":"OK"}');
    assert.equal(await get('/ttl/pk'), '{"result":100}');
    assert.equal(await get(`/get/pk?_token=${TOKEN}`, { token: null }), '{"result":"v1"}');
    assert.equal((await call(url, '/set/pk2?EX=100', { body: 'hello world/with slash' })).text, '{"result":"OK"}');
    assert.equal(await get('/get/pk2'), '{"result":"hello world/with slash"}');
    assert.equal(await get('/ttl/pk2'), '{"result":100}');
    assert.equal(await get('/set/a%2Fb/%E2%9C%93'), '{"result":"OK"}');
    assert.equal(await get('/get/a%2Fb'), '{"result":"✓"}');
    assert.equal(await get('/set/nxk/1?NX'), '{"result":"OK"}');
    assert.equal(await get('/set/nxk/2?NX'), '{"result":null}');
    // Numbers and booleans become arguments; words match in any case.
    assert.equal((await call(url, '/', { body: '["SeT","num",2.5,"Ex",60.0]' })).text, '{"result":"OK"}');
    assert.equal((await call(url, '/', { body: '["get","num"]' })).text, '{"result":"2.5"}');
    assert.equal((await call(url, '/', { body: '["ttl","num"]' })).text, '{"result":60}');
    assert.equal((await call(url, '/', { body: '["set","b",true]' })).text, '{"result":"OK"}');
    assert.equal((await call(url, '/', { body: '["get","b"]' })).text, '{"result":"true"}');
    // base64: every string at every depth, status replies included, errors and numbers not.
    const b64 = { 'upstash-encoding': 'base64' };
    assert.equal((await call(url, '/', { body: '["ping"]', headers: b64 })).text, '{"result":"UE9ORw=="}');
    assert.equal((await call(url, '/pipeline', { body: '[["set","e","é"],["mget","e","none"],["incr","e"],["strlen","e"]]', headers: b64 })).text,
      '[{"result":"T0s="},{"result":["w6k=",null]},{"error":"ERR value is not an integer or out of range"},{"result":2}]');
    // Binary values that are not UTF-8 survive base64 exactly.
    assert.equal((await call(url, '/', { body: '["get","e"]', headers: b64 })).text, '{"result":"w6k="}');
    // Raw RESP2 on request.
    const resp = await call(url, '/', { body: '["get","pk"]', headers: { 'upstash-response-format': 'resp2' } });
    assert.equal(resp.text, '$2\r\nv1\r\n');
    assert.equal(resp.type, 'application/octet-stream');
    // upstash-sync-token is tolerated, empty or not.
    assert.equal((await call(url, '/', { body: '["get","pk"]', headers: { 'upstash-sync-token': '' } })).text, '{"result":"v1"}');
    // The read-only token reads but never writes, and may not SCAN or KEYS.
    assert.equal((await call(url, '/', { body: '["get","pk"]', token: RO_TOKEN })).text, '{"result":"v1"}');
    assert.equal((await call(url, '/', { body: '["set","pk","x"]', token: RO_TOKEN })).text,
      `{"error":"NOPERM this user has no permissions to run the 'set' command"}`);
    assert.equal((await call(url, '/', { body: '["scan","0"]', token: RO_TOKEN })).text,
      `{"error":"NOPERM this user has no permissions to run the 'scan' command"}`);
    assert.equal((await call(url, '/multi-exec', { body: '[["get","pk"],["del","pk"]]', token: RO_TOKEN })).text,
      '{"error":"EXECABORT Transaction discarded because of previous errors."}');
    assert.equal(await get('/get/pk'), '{"result":"v1"}');
  });
});

// Writes a known data set and returns what a reader should see afterwards.
async function writeDataset(url) {
  const ops = [
    ['set', 's', 'value'], ['set', 'ttl', 'v', 'PX', '600000'], ['incrby', 'n', '41'], ['incr', 'n'],
    ['hset', 'h', 'a', '1', 'b', '2'], ['rpush', 'l', 'x', 'y', 'z'], ['lpop', 'l'],
    ['sadd', 'set', 'm1', 'm2'], ['zadd', 'z', '1.5', 'a', '-2', 'b'], ['zincrby', 'z', '10', 'b'],
    ['set', 'gone', 'x'], ['del', 'gone'], ['set', 'short', 'x', 'PX', '1'],
  ];
  for (const op of ops) assert.ok((await call(url, '/', { body: op })).status === 200);
  // Everything after this point must survive: 200 replies are acknowledged writes.
  const pipeline = Array.from({ length: 200 }, (_, i) => ['set', `bulk:${i}`, `${i}`]);
  assert.equal((await call(url, '/pipeline', { body: pipeline })).status, 200);
  const tx = await call(url, '/multi-exec', { body: [['incr', 'tx'], ['expire', 'tx', '1000']] });
  assert.equal(tx.text, '[{"result":1},{"result":1}]');
  const expireAt = JSON.parse((await call(url, '/', { body: ['pexpiretime', 'ttl'] })).text).result;
  return { expireAt };
}

async function checkDataset(url, { expireAt }) {
  const q = async (...cmd) => JSON.parse((await call(url, '/', { body: cmd })).text).result;
  assert.equal(await q('get', 's'), 'value');
  assert.equal(await q('pexpiretime', 'ttl'), expireAt, 'the TTL is kept as an absolute time');
  assert.equal(await q('get', 'n'), '42');
  assert.deepEqual((await q('hgetall', 'h')).sort(), ['1', '2', 'a', 'b']);
  assert.deepEqual(await q('lrange', 'l', '0', '-1'), ['y', 'z']);
  assert.deepEqual((await q('smembers', 'set')).sort(), ['m1', 'm2']);
  assert.deepEqual(await q('zrange', 'z', '0', '-1', 'withscores'), ['a', '1.5', 'b', '8']);
  assert.equal(await q('exists', 'gone'), 0);
  assert.equal(await q('exists', 'short'), 0);
  assert.equal(await q('get', 'bulk:199'), '199');
  assert.equal(await q('dbsize'), 208);
  const txTtl = await q('ttl', 'tx');
  assert.ok(txTtl > 990 && txTtl <= 1000, `tx ttl ${txTtl}`);
}

for (const fsync of ['always', 'everysec']) {
  for (const how of ['stop', 'kill']) {
    test(`durability with --redis-fsync ${fsync} across ${how === 'kill' ? 'kill -9' : 'stop/start'}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'stratus-redis-'));
      const first = await startServer({ args: ['--redis-fsync', fsync], dataDir: dir });
      const tokenLine = first.lines.find((l) => l.startsWith('stratus: Redis REST token: '));
      assert.match(tokenLine, /kept in .*redis\/token\)$/);
      currentToken = tokenLine.split(' ')[4];
      try {
        const saved = await writeDataset(first.urls['Redis REST API']);
        if (how === 'kill') await first.kill();
        else await first.stop();
        const second = await startServer({ args: ['--redis-fsync', fsync], dataDir: dir });
        try {
          const url2 = second.urls['Redis REST API'];
          // The generated token is kept, and printed only by the start that generated it.
          assert.equal(second.lines.find((l) => l.startsWith('stratus: Redis REST token: ')), undefined);
          assert.ok(second.lines.includes(`stratus: Redis REST token kept in ${join(dir, 'redis', 'token')}`), second.lines.join('\n'));
          await checkDataset(url2, saved);
          // The log was compacted at start and keeps taking writes.
          assert.equal((await call(url2, '/', { body: ['set', 'after', 'restart'] })).text, '{"result":"OK"}');
        } finally {
          await second.stop();
          second.cleanup();
        }
      } finally {
        currentToken = TOKEN;
      }
    });
  }
}
