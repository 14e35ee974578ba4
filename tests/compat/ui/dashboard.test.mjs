// The /ui/ dashboard in a real browser (Debian's chromium, headless, puppeteer-core): what it
// shows, that it follows the server live, that its controls act through the API, that no
// string from a user or a target ever runs as script, the token prompt, --ui read-only and off.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  LOC, call, createQueue, createTask, eventually, launch, ok, qpath, startServer, startTarget, texts,
} from './lib.mjs';

const FUTURE = () => Date.now() + 3600 * 1000;
const ui = (server, hash = '') => `${server.url}/ui/#/${LOC}${hash}`;
async function retype(page, selector, text) {
  await page.$eval(selector, (e) => { e.value = ''; });
  await page.type(selector, text);
}
const cell = (page, queue, col) =>
  page.$eval(`#queues tr[data-queue="${queue}"] td[data-col="${col}"]`, (e) => e.textContent).catch(() => null);

describe('dashboard', () => {
  let server, browser, target;
  before(async () => {
    server = await startServer();
    browser = await launch();
    target = await startTarget(() => ({ status: 200, body: 'ok' }));
  });
  after(async () => {
    await browser?.close();
    await target?.close();
    await server?.stop();
  });

  test('the overview lists every queue with the numbers of queueStats', async () => {
    await createQueue(server.url, 'ov-busy');
    await createQueue(server.url, 'ov-paused');
    await ok(server.url, 'POST', `/v2/${qpath('ov-paused')}:pause`, { body: {} });
    for (let i = 0; i < 3; i++) await createTask(server.url, 'ov-busy', { url: target.url, scheduleMs: FUTURE() });
    const page = await browser.open(ui(server));
    await eventually(async () => (await cell(page, 'ov-busy', 'depth')) === '3', 20000, 'depth 3 on the page');
    const stats = await ok(server.url, 'GET', `/stratus/v1/${LOC}/queueStats`);
    const busy = stats.queues.find((q) => q.queue.endsWith('/ov-busy'));
    assert.equal(busy.depth, 3);
    assert.equal(await cell(page, 'ov-busy', 'state'), 'RUNNING');
    assert.equal(await cell(page, 'ov-paused', 'state'), 'PAUSED');
    assert.equal(await cell(page, 'ov-busy', 'inFlight'), String(busy.inFlight));
    assert.equal(await cell(page, 'ov-paused', 'depth'), '0');
    await eventually(async () => (await cell(page, 'ov-busy', 'deadLetters')) === '0', 20000, 'dead letters 0');
    // Sorting by depth, descending, puts the busy queue first.
    await page.click('#queues th[data-col="depth"]');
    await page.click('#queues th[data-col="depth"]');
    const order = await page.$$eval('#queues tbody tr', (rows) => rows.map((r) => r.dataset.queue));
    assert.equal(order[0], 'ov-busy');
    await page.close();
  });

  test('a task created through the API appears without a reload', async () => {
    await createQueue(server.url, 'live');
    const page = await browser.open(ui(server, '/queues/live/tasks'));
    await page.evaluate(() => { window.__same = 'page'; });
    await page.waitForSelector('#tasks-status');
    await createTask(server.url, 'live', { id: 'fresh-1', url: target.url, scheduleMs: FUTURE() });
    await page.waitForSelector('#tasks tr[data-task="fresh-1"]', { timeout: 20000 });
    assert.equal(await page.evaluate(() => window.__same), 'page');
    // The overview follows too.
    await page.goto(ui(server), { waitUntil: 'load' });
    await eventually(async () => (await cell(page, 'live', 'depth')) === '1', 20000, 'depth 1');
    await page.evaluate(() => { window.__same = 'overview'; });
    await createTask(server.url, 'live', { id: 'fresh-2', url: target.url, scheduleMs: FUTURE() });
    await eventually(async () => (await cell(page, 'live', 'depth')) === '2', 20000, 'depth 2 without a reload');
    assert.equal(await page.evaluate(() => window.__same), 'overview');
    await page.close();
  });

  test('pause and resume from the queue page act on the queue', async () => {
    await createQueue(server.url, 'pausable');
    const page = await browser.open(ui(server, '/queues/pausable'));
    await page.waitForSelector('#pause', { timeout: 20000 });
    await page.click('#pause');
    await eventually(async () => (await ok(server.url, 'GET', `/v2/${qpath('pausable')}`)).state === 'PAUSED', 20000, 'PAUSED');
    await page.waitForSelector('#resume', { timeout: 20000 });
    await page.click('#resume');
    await eventually(async () => (await ok(server.url, 'GET', `/v2/${qpath('pausable')}`)).state === 'RUNNING', 20000, 'RUNNING');
    await page.close();
  });

  test('the queue page edits rate limits and shows the API\'s own validation message', async () => {
    await createQueue(server.url, 'tunable');
    const page = await browser.open(ui(server, '/queues/tunable'));
    await page.waitForSelector('#config-form input[name="maxDispatchesPerSecond"]', { timeout: 20000 });
    await retype(page, '#config-form input[name="maxDispatchesPerSecond"]', '7');
    await page.click('#save-config');
    await eventually(async () => (await ok(server.url, 'GET', `/v2/${qpath('tunable')}`)).rateLimits.maxDispatchesPerSecond === 7, 20000, 'rate 7');
    await page.waitForFunction(() => document.getElementById('config-message')?.textContent === 'Saved.', { timeout: 20000 });
    // A value the API refuses: its message, word for word.
    await retype(page, '#config-form input[name="maxAttempts"]', '-5');
    await page.click('#save-config');
    const direct = await call(server.url, 'PATCH', `/v2/${qpath('tunable')}?updateMask=retryConfig.maxAttempts`, { body: { retryConfig: { maxAttempts: -5 } } });
    assert.equal(direct.status, 400);
    await page.waitForFunction((m) => document.getElementById('config-message')?.textContent === m, { timeout: 20000 }, direct.json.error.message);
    await page.close();
  });

  test('a dead letter retried from the page is delivered to the target', async () => {
    let fail = true;
    const flaky = await startTarget(() => (fail ? { status: 503, body: 'down' } : { status: 200, body: 'ok' }));
    try {
      await createQueue(server.url, 'dlq', { retryConfig: { maxAttempts: 1 } });
      await createTask(server.url, 'dlq', { id: 'lost-1', url: flaky.url, body: '{"n":1}' });
      await eventually(async () => (await ok(server.url, 'GET', `/stratus/v1/${qpath('dlq')}/deadLetters`)).deadLetters?.length === 1, 30000, 'a dead letter');
      fail = false;
      const page = await browser.open(ui(server, '/queues/dlq/deadLetters'));
      await page.waitForSelector('#dead tr[data-task="lost-1"] input[type="checkbox"]', { timeout: 20000 });
      await page.click('#dead tr[data-task="lost-1"] input[type="checkbox"]');
      await page.click('#retry-selected');
      await page.waitForFunction(() => /Retried 1 of 1/.test(document.getElementById('progress-label')?.textContent || ''), { timeout: 20000 });
      await eventually(() => flaky.requests.length === 2, 30000, 'the second delivery');
      assert.equal(flaky.requests[1].body, '{"n":1}');
      await eventually(async () => (await ok(server.url, 'GET', `/stratus/v1/${qpath('dlq')}/deadLetters`)).deadLetters === undefined ||
        (await ok(server.url, 'GET', `/stratus/v1/${qpath('dlq')}/deadLetters`)).deadLetters.length === 0, 20000, 'no dead letter left');
      await page.close();
    } finally {
      await flaky.close();
    }
  });

  test('retry all shows its progress over many dead letters', async () => {
    const down = await startTarget(() => ({ status: 500 }));
    try {
      await createQueue(server.url, 'many', { retryConfig: { maxAttempts: 1 } });
      for (let i = 0; i < 12; i++) await createTask(server.url, 'many', { id: `m-${i}`, url: down.url });
      await eventually(async () => (await ok(server.url, 'GET', `/stratus/v1/${qpath('many')}/deadLetters`)).deadLetters?.length === 12, 30000, '12 dead letters');
      const page = await browser.open(ui(server, '/queues/many/deadLetters'));
      await page.waitForSelector('#delete-all', { timeout: 20000 });
      await page.click('#delete-all');
      await page.waitForFunction(() => /Deleted 12 of 12/.test(document.getElementById('progress-label')?.textContent || ''), { timeout: 30000 });
      assert.equal(await page.$eval('#progress', (p) => p.value), 12);
      const left = await ok(server.url, 'GET', `/stratus/v1/${qpath('many')}/deadLetters`);
      assert.equal((left.deadLetters || []).length, 0);
      await page.close();
    } finally {
      await down.close();
    }
  });

  test('task detail: headers, pretty JSON body, attempts; run now and delete', async () => {
    await createQueue(server.url, 'detail');
    await createTask(server.url, 'detail', { id: 'd-1', url: target.url, headers: { 'X-Trace': 'abc' }, body: '{"a":[1,2]}', scheduleMs: FUTURE() });
    const page = await browser.open(ui(server, '/queues/detail/tasks/d-1'));
    await page.waitForSelector('pre.body', { timeout: 20000 });
    assert.equal(await page.$eval('pre.body', (p) => p.textContent), JSON.stringify({ a: [1, 2] }, null, 2));
    assert.ok((await texts(page, 'table.headers td')).includes('abc'));
    await page.click('#run-task');
    await eventually(() => target.requests.some((r) => r.headers['x-cloudtasks-taskname'] === 'd-1'), 20000, 'the run');
    await eventually(async () => (await call(server.url, 'GET', `/v2/${qpath('detail')}/tasks/d-1`)).status === 404, 20000, 'delivered and gone');
    await createTask(server.url, 'detail', { id: 'd-2', url: target.url, body: '\u0001\u0002binary', scheduleMs: FUTURE() });
    await page.goto(ui(server, '/queues/detail/tasks/d-2'), { waitUntil: 'load' });
    await page.waitForSelector('pre.body', { timeout: 20000 });
    await page.click('#delete-task');
    await eventually(async () => (await call(server.url, 'GET', `/v2/${qpath('detail')}/tasks/d-2`)).status === 404, 20000, 'deleted');
    await page.close();
  });

  test('an API error is shown on the page, in the API\'s words', async () => {
    const direct = await call(server.url, 'GET', `/v2/${qpath('no-such-queue')}`);
    assert.equal(direct.status, 404);
    const page = await browser.open(ui(server, '/queues/no-such-queue'));
    await page.waitForFunction((m) => document.getElementById('problem')?.textContent === m, { timeout: 20000 }, direct.json.error.message);
    await page.close();
  });

  test('no string from a task, a target or an error text ever runs as script', async () => {
    const payload = (tag) => `<img src=x onerror="window.__pwned('${tag} img')"><script>window.__pwned('${tag} script')</script>`;
    const evil = await startTarget(() => ({
      status: 500,
      headers: { 'X-Evil': payload('response header').replace(/[\r\n]/g, ''), 'Content-Type': 'text/html' },
      body: payload('response body'),
    }));
    try {
      await createQueue(server.url, 'xss', { retryConfig: { maxAttempts: 1 } });
      await createTask(server.url, 'xss', { id: 'x-1', url: evil.url, headers: { 'X-Payload': payload('task header') }, body: payload('task body') });
      await createTask(server.url, 'xss', { id: 'x-2', url: evil.url, headers: { 'X-Payload': payload('pending header') }, body: payload('pending body'), scheduleMs: FUTURE() });
      // Names cannot carry markup: the API refuses them, so the page never sees one.
      const badQueue = await call(server.url, 'POST', `/v2/${LOC}/queues`, { body: { name: qpath('<img src=x>') } });
      assert.equal(badQueue.status, 400);
      await eventually(async () => (await ok(server.url, 'GET', `/stratus/v1/${qpath('xss')}/deadLetters`)).deadLetters?.length === 1, 30000, 'the dead letter');
      // Each page with the element that shows the payloads.
      const pages = [['', '#queues tr[data-queue="xss"]'], ['/queues/xss', '#config-form'], ['/queues/xss/tasks', '#tasks tr[data-task="x-2"]'],
        ['/queues/xss/tasks/x-2', 'pre.body'], ['/queues/xss/deadLetters', '#dead tr[data-task="x-1"]'], ['/queues/xss/deadLetters/x-1', 'table.headers']];
      for (const [hash, shown] of pages) {
        const page = await browser.open(ui(server, hash));
        await page.waitForSelector(shown, { timeout: 20000 });
        // Parsed markup would have fetched src=x and fired onerror (or a CSP report) by the
        // time the network is quiet.
        await page.waitForNetworkIdle({ idleTime: 300, timeout: 20000 });
        const text = await page.evaluate(() => document.body.textContent);
        if (hash.endsWith('x-2')) assert.match(text, /<img src=x onerror="window.__pwned\('pending body img'\)">/);
        if (hash.endsWith('x-1')) {
          assert.match(text, /window.__pwned\('response body script'\)/);
          assert.match(text, /window.__pwned\('response header img'\)/);
          assert.match(text, /window.__pwned\('task header script'\)/);
        }
        assert.deepEqual(browser.incidents, [], `on ${hash}`);
        // Nothing parsed the payloads into elements.
        assert.equal(await page.$$eval('main img, main script', (els) => els.length), 0, `markup on ${hash}`);
        await page.close();
      }
      // An error text that echoes what was typed: find-by-id with markup.
      const page = await browser.open(ui(server, '/queues/xss/tasks'));
      await page.waitForSelector('#find-id');
      await page.type('#find-id', '<img src=x onerror=window.__pwned("find")>');
      await page.click('form.toolbar button[type="submit"]');
      await page.waitForFunction(() => document.getElementById('find-message').textContent.length > 0, { timeout: 20000 });
      assert.equal(await page.$$eval('main img', (els) => els.length), 0);
      await page.close();
      assert.deepEqual(browser.incidents, []);
    } finally {
      await evil.close();
    }
  });
});

describe('dashboard with --api-token', () => {
  let server, browser;
  before(async () => {
    server = await startServer(['--api-token', 'right-token']);
    browser = await launch();
    await createQueue(server.url, 'guarded', {}, 'right-token');
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('asks for the token, refuses a wrong one, works with the right one', async () => {
    const page = await browser.open(ui(server));
    await page.waitForSelector('#login #token');
    await page.type('#token', 'wrong-token');
    await page.click('#login button[type="submit"]');
    await page.waitForFunction(() => document.getElementById('token-error')?.textContent.length > 0, { timeout: 20000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('stratus.token')), null);
    await page.$eval('#token', (e) => { e.value = ''; });
    await page.type('#token', 'right-token');
    await page.click('#login button[type="submit"]');
    await page.waitForSelector('#queues tr[data-queue="guarded"]', { timeout: 20000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('stratus.token')), 'right-token');
    // No cookie was ever set: the token travels only as a header.
    assert.equal((await page.cookies()).length, 0);
    assert.doesNotMatch(await page.$eval('#banner', (b) => b.textContent), /open/);
    await page.close();
    assert.deepEqual(browser.incidents, []);
  });

  test('the page says the API is open when there is no token', async () => {
    const open = await startServer();
    try {
      const page = await browser.open(`${open.url}/ui/`);
      await page.waitForFunction(() => /The API is open/.test(document.getElementById('banner').textContent), { timeout: 20000 });
      await page.close();
    } finally {
      await open.stop();
    }
  });
});

describe('dashboard with --ui read-only', () => {
  let server, browser, target;
  before(async () => {
    server = await startServer(['--ui', 'read-only']);
    browser = await launch();
    target = await startTarget(() => ({ status: 500 }));
    await createQueue(server.url, 'ro', { retryConfig: { maxAttempts: 1 } });
    await createTask(server.url, 'ro', { id: 'dead-1', url: target.url });
    await createTask(server.url, 'ro', { id: 'wait-1', url: target.url, scheduleMs: FUTURE() });
    await eventually(async () => (await ok(server.url, 'GET', `/stratus/v1/${qpath('ro')}/deadLetters`)).deadLetters?.length === 1, 30000, 'the dead letter');
  });
  after(async () => {
    await browser?.close();
    await target?.close();
    await server?.stop();
  });

  test('shows every page and no control that changes anything', async () => {
    const controls = '#pause, #resume, #purge, #save-config, button.run, button.delete, #run-task, #delete-task, ' +
      '#retry-selected, #delete-selected, #retry-all, #delete-all, #retry-one, #delete-one, #dead input[type="checkbox"]';
    const pages = [['', '#queues tr[data-queue="ro"]'], ['/queues/ro', '#config-form'], ['/queues/ro/tasks', '#tasks tr[data-task="wait-1"]'],
      ['/queues/ro/tasks/wait-1', 'pre.body, #attempts, .muted'], ['/queues/ro/deadLetters', '#dead tr[data-task="dead-1"]'],
      ['/queues/ro/deadLetters/dead-1', 'table.headers, .grid2']];
    for (const [hash, shown] of pages) {
      const page = await browser.open(ui(server, hash));
      await page.waitForSelector(shown, { timeout: 20000 });
      assert.equal(await page.$$eval(controls, (els) => els.length), 0, `a control on ${hash}`);
      assert.equal(await page.$$eval('#config-form input:not([disabled])', (els) => els.length), 0);
      assert.match(await page.$eval('#banner', (b) => b.textContent), /Read-only/);
      await page.close();
    }
    assert.equal((await ok(server.url, 'GET', `/v2/${qpath('ro')}`)).state, 'RUNNING');
    assert.deepEqual(browser.incidents, []);
  });
});

describe('dashboard with --ui off', () => {
  test('answers 404 under /ui/', async () => {
    const server = await startServer(['--ui', 'off']);
    try {
      for (const path of ['/ui/', '/ui/app.js', '/ui/config.json', '/ui']) {
        assert.equal((await call(server.url, 'GET', path)).status, 404, path);
      }
      assert.equal((await call(server.url, 'GET', `/stratus/v1/${LOC}/queueStats`)).status, 200);
    } finally {
      await server.stop();
    }
  });
});
