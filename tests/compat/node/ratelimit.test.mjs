// @upstash/ratelimit, unchanged, against both Redis REST backends: the embedded engine and the
// proxy to a real redis-server. Its Lua scripts start with Upstash's `#!lua
// flags=allow-key-locking` shebang, which a real Redis 7 refuses; the proxy translates it.
// Windows are long (1000 s) wherever a test counts, so the machine's speed cannot change a result;
// blockUntilReady waits on a short window with a generous deadline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Redis } from '@upstash/redis';
import { Ratelimit } from '@upstash/ratelimit';
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

async function startRedisServer() {
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
    if (ok) return { port, stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGKILL'); }) };
  }
  throw new Error('could not start redis-server');
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

function redisOf(backend) {
  const line = backend.lines.find((l) => l.startsWith('stratus: Redis REST token: '));
  return new Redis({
    url: backend.urls['Redis REST API'],
    token: line.split(' ')[4],
    retry: false,
    enableTelemetry: false,
  });
}

function limiter(backend, algorithm, prefix) {
  return new Ratelimit({ redis: redisOf(backend), limiter: algorithm, prefix, ephemeralCache: false, analytics: false });
}

const algorithms = {
  slidingWindow: (n, w) => Ratelimit.slidingWindow(n, w),
  fixedWindow: (n, w) => Ratelimit.fixedWindow(n, w),
  tokenBucket: (n, w) => Ratelimit.tokenBucket(n, w, n),
};

for (const backend of ['embedded', 'proxy']) {
  for (const [name, make] of Object.entries(algorithms)) {
    test(`${backend}: ${name} counts, refuses, reports and resets`, async () => {
      const rl = limiter(backends[backend], make(3, '1000 s'), `rl-${backend}-${name}`);
      const id = 'user-1';
      for (const remaining of [2, 1, 0]) {
        const r = await rl.limit(id);
        await r.pending;
        assert.equal(r.success, true);
        assert.equal(r.limit, 3);
        assert.equal(r.remaining, remaining);
        assert.ok(r.reset > Date.now(), `reset ${r.reset} is in the future`);
      }
      const refused = await rl.limit(id);
      assert.equal(refused.success, false);
      assert.equal(refused.remaining, 0);
      assert.equal((await rl.getRemaining(id)).remaining, 0);
      // Another identifier has its own budget.
      assert.equal((await rl.limit('user-2')).remaining, 2);

      await rl.resetUsedTokens(id);
      const after = await rl.getRemaining(id);
      assert.equal(after.remaining, 3);
      assert.equal(after.limit, 3);
      const again = await rl.limit(id);
      assert.equal(again.success, true);
      assert.equal(again.remaining, 2);
    });

    test(`${backend}: ${name} takes a rate of several tokens at once`, async () => {
      const rl = limiter(backends[backend], make(5, '1000 s'), `rl-rate-${backend}-${name}`);
      const r = await rl.limit('u', { rate: 4 });
      assert.equal(r.success, true);
      assert.equal(r.remaining, 1);
      assert.equal((await rl.limit('u', { rate: 2 })).success, false);
      // The windows count a refused request's tokens too (as on Upstash and a real Redis); the
      // bucket takes none for a refusal.
      assert.equal((await rl.getRemaining('u')).remaining, name === 'tokenBucket' ? 1 : 0);
    });

    test(`${backend}: ${name} blockUntilReady gives up before the window ends`, async () => {
      const rl = limiter(backends[backend], make(1, '1000 s'), `rl-block-${backend}-${name}`);
      assert.equal((await rl.limit('u')).success, true);
      const r = await rl.blockUntilReady('u', 300);
      assert.equal(r.success, false);
    });

    test(`${backend}: ${name} blockUntilReady waits for the next window`, async () => {
      const rl = limiter(backends[backend], make(1, '1 s'), `rl-wait-${backend}-${name}`);
      assert.equal((await rl.limit('u')).success, true);
      const r = await rl.blockUntilReady('u', 30000);
      assert.equal(r.success, true);
    });
  }

  // What ratelimit relies on, seen directly: the sha the client computes for a shebang script
  // is the one SCRIPT LOAD answers and EVALSHA runs; the other flags still hold.
  test(`${backend}: allow-key-locking scripts load and run by the client's sha`, async () => {
    const redis = redisOf(backends[backend]);
    const body = "#!lua flags=allow-key-locking\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])";
    const sha = createHash('sha1').update(body).digest('hex');
    const key = `sha-${backend}`;
    assert.equal(await redis.scriptLoad(body), sha);
    assert.deepEqual(await redis.scriptExists(sha), [1]);
    assert.equal(await redis.evalsha(sha, [key], ['2']), 2);
    assert.equal(await redis.eval(body, [key], ['3']), 5);
    const readOnly = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('SET', KEYS[1], 'x')";
    await assert.rejects(redis.eval(readOnly, [key], []), /Write commands are not allowed from read-only scripts/);
    const roSha = createHash('sha1').update(readOnly).digest('hex');
    await assert.rejects(redis.evalsha(roSha, [key], []), /Write commands are not allowed from read-only scripts/);
  });
}
