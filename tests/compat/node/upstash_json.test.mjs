// redis.json.* from @upstash/redis, unchanged, against the embedded engine of the real binary:
// the replies the client's own JSON tests expect from Upstash (result shapes, the order of
// recursive matches, numbers), with auto-pipelining on and off. A redis-server 7.0 has no
// JSON module, so the proxy backend is not run here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from '@upstash/redis';
import { startServer } from './lib/server.mjs';

let server;

function tokenOf(s) {
  const line = s.lines.find((l) => l.startsWith('stratus: Redis REST token: '));
  return line.split(' ')[4];
}

before(async () => {
  server = await startServer();
});

after(async () => {
  await server.stop();
  server.cleanup();
});

function client(autoPipeline) {
  return new Redis({
    url: server.urls['Redis REST API'],
    token: tokenOf(server),
    enableAutoPipelining: autoPipeline,
    retry: false,
    enableTelemetry: false,
  });
}

const product = {
  title: 'Desk lamp',
  about: 'An adjustable lamp',
  power: { usb: true, watts: 'five' },
  price: 19.99,
  count: 8,
  finishes: ['white', 'grey'],
  levels: [10, 50, 90],
};

for (const autoPipeline of [false, true]) {
  const p = `json:${autoPipeline ? 'auto' : 'plain'}`;
  const k = (s) => `${p}:${s}`;

  test(`documents, paths and arrays (auto-pipelining ${autoPipeline})`, async () => {
    const redis = client(autoPipeline);
    assert.equal(await redis.json.set(k('p'), '$', product), 'OK');
    assert.deepEqual(await redis.json.get(k('p')), product);
    assert.deepEqual(await redis.json.get(k('p'), '$.price'), [19.99]);
    assert.deepEqual(await redis.json.arrappend(k('p'), '$.finishes', '"black"'), [3]);
    assert.deepEqual(await redis.json.get(k('p'), '$.finishes[*]'), ['white', 'grey', 'black']);
    assert.deepEqual(await redis.json.arrinsert(k('p'), '$.finishes', 1, '"red"', '"blue"'), [5]);
    assert.deepEqual(await redis.json.get(k('p'), '$.finishes'), [['white', 'red', 'blue', 'grey', 'black']]);
    assert.deepEqual(await redis.json.arrindex(k('p'), '$..finishes', '"blue"'), [2]);
    assert.deepEqual(await redis.json.arrlen(k('p'), '$.levels'), [3]);
    assert.deepEqual(await redis.json.arrpop(k('p'), '$.levels', 0), [10]);
    assert.deepEqual(await redis.json.get(k('p'), '$.levels'), [[50, 90]]);
    assert.deepEqual(await redis.json.arrtrim(k('p'), '$.levels', 1, 1), [1]);
    assert.deepEqual(await redis.json.get(k('p'), '$.levels'), [[90]]);
    assert.equal(await redis.json.get(k('missing')), null);
    assert.deepEqual(await redis.json.resp(k('p')), await redis.json.resp(k('p'), '.'));
    assert.equal((await redis.json.resp(k('p'))).length, 15);
    assert.equal(await redis.type(k('p')), 'ReJSON-RL');
  });

  test(`recursive paths answer deeper matches first, as Upstash does (auto-pipelining ${autoPipeline})`, async () => {
    const redis = client(autoPipeline);
    await redis.json.set(k('r'), '$', { x: 5, y: 6, inner: { x: 7, y: null } });
    assert.deepEqual(await redis.json.get(k('r'), '$..y'), [null, 6]);
    assert.deepEqual(await redis.json.get(k('r'), '$..x', '$..y'), { '$..x': [7, 5], '$..y': [null, 6] });
    await redis.json.set(k('r2'), '$', { x: 1, inner: { x: 2 } });
    assert.deepEqual(await redis.json.mget([k('r'), k('r2')], '$..x'), [[7, 5], [2, 1]]);
    await redis.json.set(k('o'), '$', { x: [1], inner: { x: { m: 1, n: 2 } } });
    assert.deepEqual(await redis.json.objlen(k('o'), '$..x'), [2, null]);
    assert.deepEqual(await redis.json.objkeys(k('o'), '$..x'), [['m', 'n'], null]);
    assert.equal(await redis.json.del(k('r'), '$..x'), 2);
    assert.deepEqual(await redis.json.get(k('r'), '$'), [{ y: 6, inner: { y: null } }]);
    assert.equal(await redis.json.forget(k('r2'), '$..x'), 2);
    assert.deepEqual(await redis.json.get(k('r2')), { inner: {} });
  });

  test(`strings, numbers, booleans and clear (auto-pipelining ${autoPipeline})`, async () => {
    const redis = client(autoPipeline);
    await redis.json.set(k('s'), '$', { w: 'ab', inner: { w: 'cde' }, other: { w: 4 } });
    assert.deepEqual(await redis.json.strlen(k('s'), '$..w'), [3, null, 2]);
    assert.deepEqual(await redis.json.strappend(k('s'), '$..w', '"z"'), [4, null, 3]);
    assert.deepEqual(await redis.json.get(k('s')), { w: 'abz', inner: { w: 'cdez' }, other: { w: 4 } });
    assert.deepEqual(await redis.json.type(k('s'), '$..w'), ['string', 'integer', 'string']);

    await redis.json.set(k('n'), '$', { v: 'text', list: [{ v: 3 }, { v: 4 }, { v: 'no' }] });
    assert.deepEqual(await redis.json.numincrby(k('n'), '$.v', 2), [null]);
    assert.deepEqual(await redis.json.numincrby(k('n'), '$..v', 2), [5, 6, null, null]);
    assert.deepEqual(await redis.json.nummultby(k('n'), '$..v', 3), [15, 18, null, null]);
    await redis.json.set(k('f'), '$', { a: 1 });
    assert.deepEqual(await redis.json.numincrby(k('f'), '$.a', 0.5), [1.5]);

    await redis.json.set(k('b'), '$', { on: true });
    assert.deepEqual(await redis.json.toggle(k('b'), '$.on'), [0]);
    assert.deepEqual(await redis.json.get(k('b'), '$'), [{ on: false }]);
    assert.deepEqual(await redis.json.toggle(k('b'), '$.on'), [1]);

    await redis.json.set(k('c'), '$', '{"o":{"a":1},"a":[1,2],"s":"keep","t":true,"i":9,"f":1.25}');
    assert.equal(await redis.json.clear(k('c'), '$.*'), 4);
    assert.deepEqual(await redis.json.get(k('c'), '$'), [{ o: {}, a: [], s: 'keep', t: true, i: 0, f: 0 }]);
  });

  test(`set, mset and merge (auto-pipelining ${autoPipeline})`, async () => {
    const redis = client(autoPipeline);
    await redis.json.set(k('m'), '$', { a: 2 });
    assert.equal(await redis.json.set(k('m'), '$.b', 8), 'OK');
    assert.equal(await redis.json.set(k('m'), '$.a', 3), 'OK');
    assert.deepEqual(await redis.json.get(k('m'), '$'), [{ a: 3, b: 8 }]);
    assert.equal(await redis.json.set(k('m'), '$.a', 4, { nx: true }), null);
    assert.equal(await redis.json.set(k('m'), '$.zz', 4, { xx: true }), null);
    await redis.json.set(k('mp'), '$', { f1: { a: 1 }, f2: { a: 2 } });
    assert.equal(await redis.json.set(k('mp'), '$..a', 3), 'OK');
    assert.deepEqual(await redis.json.get(k('mp')), { f1: { a: 3 }, f2: { a: 3 } });
    assert.equal(
      await redis.json.mset(
        { key: k('ms1'), path: '$', value: { q: 1 } },
        { key: k('ms2'), path: '$', value: { q: 2 } },
      ),
      'OK',
    );
    assert.equal(await redis.json.mset({ key: k('ms1'), path: '$.q', value: 5 }), 'OK');
    assert.deepEqual(await redis.json.mget([k('ms1'), k('ms2')], '$.q'), [[5], [2]]);

    await redis.json.set(k('g'), '$', { f1: { a: 1 }, f2: { a: 2 } });
    assert.equal(await redis.json.merge(k('g'), '$', { f1: null, f2: { a: 3, b: 4 }, f3: [2, 4, 6] }), 'OK');
    assert.deepEqual(await redis.json.get(k('g'), '$'), [{ f2: { a: 3, b: 4 }, f3: [2, 4, 6] }]);
    await redis.json.merge(k('g'), '$.f4', '7');
    await redis.json.merge(k('g'), '$.f3', '[1]');
    assert.deepEqual(await redis.json.get(k('g')), { f2: { a: 3, b: 4 }, f3: [1], f4: 7 });
    await assert.rejects(redis.json.set(k('new'), '$.x', 1), /new objects must be created at the root/);
  });
}
