// @upstash/redis's subscribe/psubscribe/publish and its readYourWrites sync token, unchanged,
// against both Redis REST backends: the embedded engine and the proxy to a real redis-server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { Redis } from '@upstash/redis';
import { startServer } from './lib/server.mjs';

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function startRedis() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('redis-server did not start')), 10000);
    proc.stdout.on('data', (c) => {
      out += c.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { port, stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGKILL'); }) };
}

const token = 'pubsub-compat-token';
const backends = {};
let redisServer;

before(async () => {
  redisServer = await startRedis();
  backends.embedded = await startServer({ args: ['--redis-token', token] });
  backends.proxy = await startServer({
    args: ['--redis-token', token, '--redis-url', `redis://127.0.0.1:${redisServer.port}`],
  });
});

after(async () => {
  for (const b of Object.values(backends)) {
    await b.stop();
    b.cleanup();
  }
  await redisServer?.stop();
});

function client(backend, options = {}) {
  return new Redis({ url: backend.urls['Redis REST API'], token, retry: false, enableTelemetry: false, ...options });
}

// Resolves when `predicate()` holds, polling (an observable event, with a generous deadline).
async function until(predicate, what, ms = 20000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function numsub(backend, channel) {
  const res = await fetch(backend.urls['Redis REST API'], {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify(['pubsub', 'numsub', channel]),
  });
  const body = await res.json();
  return body.result[1];
}

for (const name of ['embedded', 'proxy']) {
  test(`${name}: subscribe receives published messages in order, then unsubscribe removes it`, async () => {
    const backend = backends[name];
    const redis = client(backend);
    const channel = `${name}-news`;
    const got = [];
    const counts = [];
    const sub = redis.subscribe([channel]);
    sub.on('subscribe', (n) => counts.push(n));
    sub.on('message', (m) => got.push(m));
    await until(() => counts.length === 1, 'the subscribe confirmation');
    assert.deepEqual(counts, [1]);
    const sent = [{ n: 1, text: 'first' }, 'plain text', { n: 3, list: [1, 2] }, 42];
    for (const m of sent) assert.equal(await redis.publish(channel, m), 1);
    await until(() => got.length === sent.length, 'every message');
    assert.deepEqual(got.map((m) => m.message), sent);
    assert.ok(got.every((m) => m.channel === channel));
    await sub.unsubscribe();
    await until(async () => (await numsub(backend, channel)) === 0, 'PUBSUB NUMSUB to drop');
    assert.equal(await redis.publish(channel, 'nobody'), 0);
  });

  test(`${name}: psubscribe gets pmessage with the pattern and channel`, async () => {
    const backend = backends[name];
    const redis = client(backend, { enableAutoPipelining: false });
    const got = [];
    let subscribed = false;
    const sub = redis.psubscribe([`${name}:user:*`]);
    sub.on('psubscribe', () => (subscribed = true));
    sub.on('pmessage', (m) => got.push(m));
    await until(() => subscribed, 'the psubscribe confirmation');
    assert.equal(await redis.publish(`${name}:user:1`, { hi: 1 }), 1);
    assert.equal(await redis.publish(`${name}:other`, { no: 1 }), 0);
    assert.equal(await redis.publish(`${name}:user:2`, { hi: 2 }), 1);
    await until(() => got.length === 2, 'two pmessages');
    assert.deepEqual(got, [
      { pattern: `${name}:user:*`, channel: `${name}:user:1`, message: { hi: 1 } },
      { pattern: `${name}:user:*`, channel: `${name}:user:2`, message: { hi: 2 } },
    ]);
    await sub.unsubscribe();
  });

  test(`${name}: readYourWrites keeps the growing upstash-sync-token and any token is honoured`, async () => {
    const backend = backends[name];
    const redis = client(backend, { enableAutoPipelining: false });
    assert.equal(await redis.set(`${name}:ryw`, 'v1'), 'OK');
    const t1 = BigInt(redis.readYourWritesSyncToken);
    assert.equal(await redis.get(`${name}:ryw`), 'v1');
    const t2 = BigInt(redis.readYourWritesSyncToken);
    assert.ok(t2 > t1, `${t2} > ${t1}`);
    // A token from the future or malformed: the data is always that fresh, the call just runs.
    redis.readYourWritesSyncToken = String(t2 + 10n ** 12n);
    assert.equal(await redis.get(`${name}:ryw`), 'v1');
    redis.readYourWritesSyncToken = 'garbage';
    assert.equal(await redis.incr(`${name}:ryw-n`), 1);
    assert.ok(BigInt(redis.readYourWritesSyncToken) > t2);
    // Auto-pipelined and with readYourWrites off, the same.
    const auto = client(backend);
    await auto.set(`${name}:ryw`, 'v2');
    assert.equal(await auto.get(`${name}:ryw`), 'v2');
    assert.ok(BigInt(auto.readYourWritesSyncToken) > 0n);
    const off = client(backend, { readYourWrites: false });
    assert.equal(await off.get(`${name}:ryw`), 'v2');
  });
}
