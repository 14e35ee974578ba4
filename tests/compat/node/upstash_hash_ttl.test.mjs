// @upstash/redis's hash-field expiry commands (hexpire, hpexpire, hexpireat, hpexpireat, httl,
// hpttl, hexpiretime, hpexpiretime, hpersist, hgetex, hsetex) and the geo commands, unchanged,
// against the embedded engine. redis-server 7.0 lacks field expiry, so there is no proxy run.
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
    enableAutoPipelining: false,
    retry: false,
    enableTelemetry: false,
  });
});

after(async () => {
  await server?.stop();
  server?.cleanup();
});

// Polls until `check` passes (the field expiry is real time here); fails after 20 s.
async function eventually(check) {
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

test('hexpire, httl, hpersist and friends reply per field', async () => {
  await redis.hset('h', { a: '1', b: '2' });
  assert.deepEqual(await redis.hexpire('h', ['a', 'nope'], 100), [1, -2]);
  assert.deepEqual(await redis.hexpire('h', 'a', 50, 'NX'), [0]);
  assert.deepEqual(await redis.hexpire('h', 'a', 500, 'GT'), [1]);
  assert.deepEqual(await redis.httl('h', ['a', 'b', 'nope']), [500, -1, -2]);
  const pttl = await redis.hpttl('h', 'a');
  assert.ok(pttl[0] > 490000 && pttl[0] <= 500000, String(pttl));
  const at = Math.floor(Date.now() / 1000) + 1000;
  assert.deepEqual(await redis.hexpireat('h', 'b', at), [1]);
  assert.deepEqual(await redis.hexpiretime('h', 'b'), [at]);
  assert.deepEqual(await redis.hpexpiretime('h', 'b'), [at * 1000]);
  assert.deepEqual(await redis.hpersist('h', ['a', 'b', 'nope']), [1, 1, -2]);
  assert.deepEqual(await redis.hpersist('h', 'a'), [-1]);
  assert.deepEqual(await redis.hpexpireat('h', 'a', 1), [2]);
  assert.deepEqual(await redis.hgetall('h'), { b: 2 });
});

test('a field expires and the hash goes with its last field', async () => {
  await redis.hset('e', { keep: 'k', gone: 'g' });
  assert.deepEqual(await redis.hpexpire('e', 'gone', 200), [1]);
  await eventually(async () => assert.deepEqual(await redis.hgetall('e'), { keep: 'k' }));
  assert.equal(await redis.hlen('e'), 1);
  assert.deepEqual(await redis.hpexpire('e', 'keep', 200), [1]);
  await eventually(async () => assert.equal(await redis.exists('e'), 0));
});

test('hsetex and hgetex', async () => {
  assert.equal(await redis.hsetex('s', { expiration: { ex: 60 } }, { a: 'x', b: 'y' }), 1);
  assert.deepEqual(await redis.httl('s', ['a', 'b']), [60, 60]);
  assert.equal(await redis.hsetex('s', { conditional: 'FNX' }, { a: 'z' }), 0);
  assert.equal(await redis.hsetex('s', { conditional: 'FXX', expiration: { keepttl: true } }, { a: 'z' }), 1);
  assert.deepEqual(await redis.httl('s', 'a'), [60]);
  assert.deepEqual(await redis.hgetex('s', { persist: true }, 'a', 'nope'), { a: 'z', nope: null });
  assert.deepEqual(await redis.httl('s', 'a'), [-1]);
  assert.deepEqual(await redis.hgetex('s', { px: 5000 }, 'a'), { a: 'z' });
  const pttl = await redis.hpttl('s', 'a');
  assert.ok(pttl[0] > 0 && pttl[0] <= 5000, String(pttl));
});

test('geoadd, geodist, geopos, geohash and geosearch', async () => {
  assert.equal(
    await redis.geoadd(
      'Sicily',
      { longitude: 13.361389, latitude: 38.115556, member: 'Palermo' },
      { longitude: 15.087269, latitude: 37.502669, member: 'Catania' },
    ),
    2,
  );
  assert.equal(await redis.geodist('Sicily', 'Palermo', 'Catania', 'KM'), 166.2742);
  assert.deepEqual(await redis.geohash('Sicily', 'Palermo', 'Catania'), ['sqc8b49rny0', 'sqdtr74hyu0']);
  const pos = await redis.geopos('Sicily', 'Palermo');
  assert.equal(pos.length, 1);
  assert.ok(Math.abs(pos[0].lng - 13.361389) < 1e-5 && Math.abs(pos[0].lat - 38.115556) < 1e-5, JSON.stringify(pos));
  const found = await redis.geosearch(
    'Sicily',
    { type: 'FROMLONLAT', coordinate: { lon: 15, lat: 37 } },
    { type: 'BYRADIUS', radius: 200, radiusType: 'KM' },
    'ASC',
    { withDist: true },
  );
  assert.deepEqual(
    found.map((f) => [f.member, f.dist]),
    [
      ['Catania', 56.4413],
      ['Palermo', 190.4424],
    ],
  );
});
