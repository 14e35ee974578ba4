// @upstash/redis, unchanged, against both Redis REST backends: the embedded engine and the
// proxy to a real redis-server (started here on a free port). Every scenario runs with
// auto-pipelining on and off and with base64 responses on and off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { Redis, errors } from '@upstash/redis';
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

// A throwaway redis-server: no persistence, a free port; resolves once it accepts.
export async function startRedisServer() {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ok = await new Promise((resolve) => {
      let out = '';
      const timer = setTimeout(() => resolve(false), 10000);
      proc.stdout.on('data', (c) => {
        out += c.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      proc.on('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ok) return { port, proc, stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGKILL'); }) };
  }
  throw new Error('could not start redis-server');
}

function tokenOf(server) {
  const line = server.lines.find((l) => l.startsWith('stratus: Redis REST token: '));
  return line.split(' ')[4];
}

const backends = {};
let redisServer;

before(async () => {
  redisServer = await startRedisServer();
  backends.embedded = await startServer();
  backends.proxy = await startServer({ args: ['--redis-url', `redis://127.0.0.1:${redisServer.port}`] });
});

after(async () => {
  for (const b of Object.values(backends)) {
    await b.stop();
    b.cleanup();
  }
  await redisServer?.stop();
});

function client(backend, { autoPipeline, base64 }) {
  return new Redis({
    url: backend.urls['Redis REST API'],
    token: tokenOf(backend),
    enableAutoPipelining: autoPipeline,
    responseEncoding: base64 ? 'base64' : false,
    retry: false,
    enableTelemetry: false,
  });
}

async function scenario(redis, p) {
  const k = (s) => `${p}:${s}`;
  assert.equal(await redis.set(k('s'), 'hello'), 'OK');
  assert.equal(await redis.get(k('s')), 'hello');
  assert.equal(await redis.get(k('missing')), null);
  await redis.set(k('json'), { a: 1, b: [1, 2] });
  assert.deepEqual(await redis.get(k('json')), { a: 1, b: [1, 2] });
  await redis.set(k('u'), 'héllo ✓ 日本');
  assert.equal(await redis.get(k('u')), 'héllo ✓ 日本');
  assert.equal(await redis.set(k('s'), 'x', { nx: true }), null);
  assert.equal(await redis.set(k('ttl'), 'v', { ex: 100 }), 'OK');
  const ttl = await redis.ttl(k('ttl'));
  assert.ok(ttl > 95 && ttl <= 100, `ttl ${ttl}`);
  assert.equal(await redis.expire(k('s'), 50), 1);
  assert.equal(await redis.persist(k('s')), 1);
  assert.equal(await redis.ttl(k('s')), -1);
  assert.equal(await redis.incr(k('n')), 1);
  assert.equal(await redis.incrby(k('n'), 41), 42);
  assert.equal(await redis.decr(k('n')), 41);
  assert.deepEqual(await redis.mget(k('s'), k('missing'), k('n')), ['hello', null, 41]);
  assert.equal(await redis.exists(k('s'), k('missing')), 1);
  assert.equal(await redis.type(k('s')), 'string');
  assert.equal(await redis.getdel(k('n')), 41);
  assert.equal(await redis.hset(k('h'), { f1: 'v1', f2: 2 }), 2);
  assert.equal(await redis.hget(k('h'), 'f1'), 'v1');
  assert.deepEqual(await redis.hgetall(k('h')), { f1: 'v1', f2: 2 });
  assert.deepEqual(await redis.hmget(k('h'), 'f1', 'nope'), { f1: 'v1', nope: null });
  assert.equal(await redis.hincrby(k('h'), 'f2', 3), 5);
  assert.equal(await redis.hdel(k('h'), 'f1'), 1);
  assert.equal(await redis.sadd(k('set'), 'a', 'b', 'c'), 3);
  assert.deepEqual((await redis.smembers(k('set'))).sort(), ['a', 'b', 'c']);
  assert.equal(await redis.sismember(k('set'), 'b'), 1);
  assert.deepEqual(await redis.smismember(k('set'), ['a', 'z']), [1, 0]);
  assert.equal(await redis.scard(k('set')), 3);
  assert.equal(await redis.srem(k('set'), 'a'), 1);
  assert.equal(await redis.zadd(k('z'), { score: 1, member: 'one' }, { score: 2.5, member: 'two' }), 2);
  assert.deepEqual(await redis.zrange(k('z'), 0, -1, { withScores: true }), ['one', 1, 'two', 2.5]);
  assert.equal(await redis.zscore(k('z'), 'two'), 2.5);
  assert.equal(await redis.zincrby(k('z'), 2, 'one'), 3);
  assert.equal(await redis.zcard(k('z')), 2);
  assert.equal(await redis.zcount(k('z'), 2, 3), 2);
  assert.equal(await redis.zrank(k('z'), 'one'), 1);
  assert.deepEqual(await redis.zrange(k('z'), 2, 3, { byScore: true }), ['two', 'one']);
  assert.equal(await redis.zrem(k('z'), 'two'), 1);
  assert.equal(await redis.rpush(k('l'), 'a', 'b', 'c'), 3);
  assert.equal(await redis.lpush(k('l'), 'z'), 4);
  assert.deepEqual(await redis.lrange(k('l'), 0, -1), ['z', 'a', 'b', 'c']);
  assert.equal(await redis.lpop(k('l')), 'z');
  assert.equal(await redis.llen(k('l')), 3);
  assert.equal(await redis.ping(), 'PONG');
  assert.equal(await redis.echo('hi there'), 'hi there');

  // SCAN MATCH over several pages collects every key once.
  for (let i = 0; i < 30; i++) await redis.set(k(`scan:${i}`), i);
  const seen = new Set();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, { match: k('scan:*'), count: 7 });
    keys.forEach((x) => seen.add(x));
    cursor = String(next);
  } while (cursor !== '0');
  assert.equal(seen.size, 30);
  assert.equal((await redis.keys(k('scan:1*'))).length, 11);

  // Many concurrent commands (one auto-pipeline batch when enabled).
  const counts = await Promise.all(Array.from({ length: 50 }, () => redis.incr(k('par'))));
  assert.deepEqual(counts.sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));

  // An explicit pipeline: one entry per command, errors kept in place.
  const pl = redis.pipeline();
  pl.set(k('p1'), 'a');
  pl.incr(k('p2'));
  pl.get(k('p1'));
  const pres = await pl.exec();
  assert.deepEqual(pres, ['OK', 1, 'a']);
  const bad = redis.pipeline();
  bad.incr(k('p1'));
  bad.get(k('p1'));
  const kept = await bad.exec({ keepErrors: true });
  assert.match(kept[0].error, /ERR value is not an integer or out of range/);
  assert.equal(kept[1].result, 'a');

  // multi(): one transaction.
  const tx = redis.multi();
  tx.incr(k('m'));
  tx.incr(k('m'));
  tx.get(k('m'));
  assert.deepEqual(await tx.exec(), [1, 2, 2]);

  // Scripts: EVAL, SCRIPT LOAD + EVALSHA, and NOSCRIPT for an unknown SHA (what
  // @upstash/ratelimit falls back on).
  const script = 'local v = redis.call("INCRBY", KEYS[1], ARGV[1]); return {v, redis.call("GET", KEYS[1])}';
  assert.deepEqual(await redis.eval(script, [k('ev')], [5]), [5, 5]);
  const sha = await redis.scriptLoad(script);
  assert.match(sha, /^[0-9a-f]{40}$/);
  assert.deepEqual(await redis.evalsha(sha, [k('ev')], [2]), [7, 7]);
  await assert.rejects(redis.evalsha('0'.repeat(40), [], []), (e) => e instanceof errors.UpstashError && /NOSCRIPT/.test(e.message));

  // Errors surface as UpstashError with Redis's own text.
  await assert.rejects(redis.incr(k('s')), (e) => e instanceof errors.UpstashError && /ERR value is not an integer or out of range/.test(e.message));
  await assert.rejects(redis.hget(k('s'), 'f'), (e) => e instanceof errors.UpstashError && /WRONGTYPE/.test(e.message));
}

for (const backend of ['embedded', 'proxy']) {
  for (const autoPipeline of [false, true]) {
    for (const base64 of [true, false]) {
      test(`@upstash/redis scenario on ${backend}, autoPipeline=${autoPipeline}, base64=${base64}`, async () => {
        const redis = client(backends[backend], { autoPipeline, base64 });
        await scenario(redis, `sc:${autoPipeline}:${base64}`);
      });
    }
  }
}

// The app's own patterns (CatchUp): a cache with TTL and delete-by-pattern, a sliding-window
// rate limiter in one multi-exec, and idempotency keys with SET NX EX.
for (const backend of ['embedded', 'proxy']) {
  test(`app patterns on ${backend}`, async () => {
    const redis = client(backends[backend], { autoPipeline: true, base64: true });
    // Cache: get-or-set with TTL, then invalidate every key of a user by SCAN MATCH + DEL.
    for (let i = 0; i < 25; i++) await redis.set(`cache:user:42:item:${i}`, { i }, { ex: 300 });
    await redis.set('cache:user:7:item:0', { keep: true }, { ex: 300 });
    assert.deepEqual(await redis.get('cache:user:42:item:3'), { i: 3 });
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await redis.scan(cursor, { match: 'cache:user:42:*', count: 10 });
      if (keys.length) deleted += await redis.del(...keys);
      cursor = String(next);
    } while (cursor !== '0');
    assert.equal(deleted, 25);
    assert.equal(await redis.get('cache:user:42:item:3'), null);
    assert.deepEqual(await redis.get('cache:user:7:item:0'), { keep: true });

    // Sliding-window limiter: 5 requests per window, each check one transaction.
    const limit = 5;
    const windowMs = 60000;
    const check = async (now) => {
      const key = 'ratelimit:user:42';
      const tx = redis.multi();
      tx.zremrangebyscore(key, 0, now - windowMs);
      tx.zadd(key, { score: now, member: `${now}` });
      tx.zcard(key);
      tx.expire(key, 60);
      const [, , count] = await tx.exec();
      return count <= limit;
    };
    const base = 1_700_000_000_000;
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await check(base + i));
    assert.deepEqual(results, [true, true, true, true, true, false, false]);
    assert.equal(await check(base + windowMs + 10), true);  // the window slid past the old entries
    const ttl = await redis.ttl('ratelimit:user:42');
    assert.ok(ttl > 0 && ttl <= 60);

    // Idempotency: the first SET NX EX wins, the rest see null.
    const claims = await Promise.all(Array.from({ length: 10 }, () => redis.set('idem:job:abc', 'processing', { nx: true, ex: 3600 })));
    assert.equal(claims.filter((c) => c === 'OK').length, 1);
    assert.equal(claims.filter((c) => c === null).length, 9);
    assert.equal(await redis.get('idem:job:abc'), 'processing');
  });
}

test('concurrent multi-exec requests never share a proxy connection', async () => {
  const redis = client(backends.proxy, { autoPipeline: false, base64: true });
  const runs = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const tx = redis.multi();
    tx.set(`cm:${i}`, i);
    tx.incr(`cm:${i}`);
    tx.get(`cm:${i}`);
    return tx.exec();
  }));
  runs.forEach((r, i) => assert.deepEqual(r, ['OK', i + 1, i + 1]));
});

test('proxy: Redis down answers 503 in Upstash format, and recovers when it returns', async () => {
  const own = await startRedisServer();
  const server = await startServer({ args: ['--redis-url', `redis://127.0.0.1:${own.port}`] });
  try {
    const url = server.urls['Redis REST API'];
    const token = tokenOf(server);
    const post = async (body) => {
      const r = await fetch(url + '/', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      return { status: r.status, body: await r.json() };
    };
    assert.deepEqual(await post(['set', 'k', 'v']), { status: 200, body: { result: 'OK' } });
    await own.stop();
    const down = await post(['get', 'k']);
    assert.equal(down.status, 503);
    assert.match(down.body.error, /^ERR the Redis server at 127\.0\.0\.1:\d+ is unavailable: /);
    const redis = client(server, { autoPipeline: false, base64: true });
    await assert.rejects(redis.get('k'), (e) => e instanceof errors.UpstashError && /unavailable/.test(e.message));
    // Back on the same port: the next request dials again.
    const again = spawn('redis-server', ['--port', String(own.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((resolve, reject) => {
        let out = '';
        again.stdout.on('data', (c) => { out += c; if (out.includes('Ready to accept connections')) resolve(); });
        again.on('exit', () => reject(new Error('redis-server did not restart')));
      });
      assert.deepEqual(await post(['set', 'k', 'back']), { status: 200, body: { result: 'OK' } });
      assert.equal(await redis.get('k'), 'back');
    } finally {
      again.removeAllListeners('exit');
      await new Promise((r) => { again.on('exit', r); again.kill('SIGKILL'); });
    }
  } finally {
    await server.stop();
    server.cleanup();
  }
});
