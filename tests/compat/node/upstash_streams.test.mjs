// Streams through @upstash/redis, unchanged, against the real binary's embedded engine: XADD
// with trimming, XRANGE/XREVRANGE as the client maps them, consumer groups with XREADGROUP,
// XPENDING, XCLAIM, XAUTOCLAIM, XACK, XINFO, and Redis 8.2's XDELEX and XACKDEL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from '@upstash/redis';
import { startServer } from './lib/server.mjs';

let server;
let redis;

before(async () => {
  server = await startServer();
  const line = server.lines.find((l) => l.startsWith('stratus: Redis REST token: '));
  redis = new Redis({
    url: server.urls['Redis REST API'],
    token: line.split(' ')[4],
    retry: false,
    enableTelemetry: false,
    enableAutoPipelining: false,
  });
});

after(async () => {
  await server?.stop();
  server?.cleanup();
});

test('xadd, xrange, xrevrange, xlen, xdel, xtrim', async () => {
  assert.equal(await redis.xadd('s', '1-1', { name: 'ann', n: 1 }), '1-1');
  assert.equal(await redis.xadd('s', '1-*', { name: 'bob' }), '1-2');
  const generated = await redis.xadd('s', '*', { name: 'cy' });
  assert.match(generated, /^\d+-\d+$/);
  assert.equal(await redis.xlen('s'), 3);
  assert.deepEqual(await redis.xrange('s', '-', '(1-2'), { '1-1': { name: 'ann', n: 1 } });
  const rev = await redis.xrevrange('s', '+', '-', 1);
  assert.deepEqual(Object.keys(rev), [generated]);
  assert.equal(await redis.xdel('s', ['1-1', '9-9']), 1);
  assert.equal(await redis.xadd('s', '*', { name: 'dee' }, { trim: { type: 'MAXLEN', threshold: 2, comparison: '=' } }).then((id) => typeof id), 'string');
  assert.equal(await redis.xlen('s'), 2);
  assert.equal(await redis.xtrim('s', { strategy: 'MAXLEN', threshold: 1, exactness: '=' }), 1);
  assert.equal(await redis.xadd('absent', '*', { a: 1 }, { nomkStream: true }), null);
  await assert.rejects(redis.xadd('s', '0-0', { a: 1 }), /must be greater than 0-0/);
});

test('consumer groups: xreadgroup, xpending, xclaim, xautoclaim, xack, xinfo', async () => {
  await redis.xadd('q', '1-0', { job: 'a' });
  await redis.xadd('q', '2-0', { job: 'b' });
  await redis.xadd('q', '3-0', { job: 'c' });
  assert.equal(await redis.xgroup('q', { type: 'CREATE', group: 'g', id: '0' }), 'OK');
  assert.equal(await redis.xgroup('q', { type: 'CREATECONSUMER', group: 'g', consumer: 'idle' }), 1);
  const read = await redis.xreadgroup('g', 'w1', 'q', '>', { count: 2 });
  assert.deepEqual(read, [['q', [['1-0', ['job', 'a']], ['2-0', ['job', 'b']]]]]);
  const summary = await redis.xpending('q', 'g', '-', '+', 10);
  assert.deepEqual(summary.map((r) => [r[0], r[1], r[3]]), [['1-0', 'w1', 1], ['2-0', 'w1', 1]]);
  const claimed = await redis.xclaim('q', 'g', 'w2', 0, '1-0', { justId: true });
  assert.deepEqual(claimed, ['1-0']);
  const auto = await redis.xautoclaim('q', 'g', 'w3', 0, '0-0', { count: 1 });
  assert.deepEqual(auto, ['2-0', [['1-0', ['job', 'a']]], []]);
  assert.equal(await redis.xack('q', 'g', ['1-0', '2-0']), 2);
  const groups = await redis.xinfo('q', { type: 'GROUPS' });
  assert.equal(groups.length, 1);
  const g = groups[0];
  assert.equal(g[g.indexOf('pending') + 1], 0);
  assert.equal(g[g.indexOf('last-delivered-id') + 1], '2-0');
  assert.equal(g[g.indexOf('lag') + 1], 1);
  const consumers = await redis.xinfo('q', { type: 'CONSUMERS', group: 'g' });
  assert.deepEqual(consumers.map((c) => c[1]), ['idle', 'w1', 'w2', 'w3']);
  assert.equal(await redis.xgroup('q', { type: 'DELCONSUMER', group: 'g', consumer: 'idle' }), 0);
  assert.equal(await redis.xgroup('q', { type: 'DESTROY', group: 'g' }), 1);
  await assert.rejects(redis.xreadgroup('nope', 'c', 'q', '>'), /NOGROUP/);
});

test('xdelex and xackdel with their reference policies', async () => {
  await redis.xadd('d', '1-0', { a: 1 });
  await redis.xadd('d', '2-0', { a: 2 });
  await redis.xgroup('d', { type: 'CREATE', group: 'g', id: '0' });
  await redis.xreadgroup('g', 'c', 'd', '>', { count: 1 });
  assert.deepEqual(await redis.xdelex('d', 'ACKED', '1-0', '2-0', '9-0'), [2, 2, -1]);
  assert.deepEqual(await redis.xackdel('d', 'g', 'ACKED', '1-0'), [1]);
  assert.equal(await redis.xlen('d'), 1);
  assert.deepEqual(await redis.xdelex('d', 'DELREF', '2-0'), [1]);
  assert.equal(await redis.xlen('d'), 0);
});
