// Takes the screenshots in docs/dashboard/ (run through scripts/dashboard-screenshots.sh):
// a server with a few queues and a minute of made-up traffic, then one PNG per page.
//   STRATUS_BIN=build/src/cli/stratus node screenshots.mjs OUT_DIR [traffic seconds]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LOC, createQueue, createTask, eventually, launch, ok, qpath, startServer, startTarget } from './lib.mjs';

const out = process.argv[2];
const seconds = Number(process.argv[3] || 60);
if (!out) throw new Error('usage: node screenshots.mjs OUT_DIR [seconds]');
mkdirSync(out, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const server = await startServer();
const token = await startServer(['--api-token', 'demo']);
let n = 0;
// 10-60 ms per answer; one in twelve fails (503), webhooks' fail more often and die.
const target = await startTarget(async (req) => {
  n++;
  await sleep(10 + Math.random() * 50);
  const hook = req.url.startsWith('/hook');
  const order = hook ? JSON.parse(req.body || '{}').order : 0;
  const status = hook ? (order % 3 === 0 ? 502 : 200) : n % 12 === 0 ? 503 : 200;
  return { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(status === 200 ? { ok: true } : { error: 'upstream unavailable', attempt: n }) };
});
try {
  await createQueue(server.url, 'emails', { rateLimits: { maxDispatchesPerSecond: 50 }, retryConfig: { maxAttempts: 5, minBackoff: '0.2s', maxBackoff: '2s' } });
  await createQueue(server.url, 'webhooks', { retryConfig: { maxAttempts: 2, minBackoff: '0.5s' } });
  await createQueue(server.url, 'reports');
  await createQueue(server.url, 'thumbnails', { rateLimits: { maxDispatchesPerSecond: 5 } });
  for (let i = 0; i < 6; i++) {
    await createTask(server.url, 'reports', {
      id: `monthly-${2026}-${String(i + 1).padStart(2, '0')}`, url: `${target.url}/reports`,
      headers: { 'Content-Type': 'application/json', 'X-Tenant': 'acme' },
      body: JSON.stringify({ report: 'monthly', month: i + 1, format: 'pdf', recipients: ['ops@example.com'] }),
      scheduleMs: Date.now() + (i + 1) * 3600 * 1000,
    });
  }
  await ok(server.url, 'POST', `/v2/${qpath('thumbnails')}:pause`, { body: {} });
  for (let i = 0; i < 40; i++) await createTask(server.url, 'thumbnails', { url: `${target.url}/thumb`, body: `{"image":${i}}` });
  const end = Date.now() + seconds * 1000;
  let k = 0;
  while (Date.now() < end) {
    const burst = 5 + Math.round(5 * Math.sin(k / 10) + 5);
    const jobs = [];
    for (let i = 0; i < burst; i++) {
      jobs.push(createTask(server.url, 'emails', { url: `${target.url}/mail`, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ to: `user${k}-${i}@example.com`, template: 'welcome' }) }));
    }
    if (k % 4 === 0) jobs.push(createTask(server.url, 'webhooks', { id: `order-${1000 + k}`, url: `${target.url}/hook`, headers: { 'Content-Type': 'application/json', 'X-Event': 'order.paid' }, body: JSON.stringify({ order: 1000 + k, amount: 42.5 }) }));
    await Promise.all(jobs);
    k++;
    await sleep(1000);
  }
  await eventually(async () => ((await ok(server.url, 'GET', `/stratus/v1/${qpath('webhooks')}/deadLetters`)).deadLetters || []).length > 0, 30000, 'a dead letter');
  const dead = (await ok(server.url, 'GET', `/stratus/v1/${qpath('webhooks')}/deadLetters`)).deadLetters[0];
  const deadId = dead.task.name.split('/').pop();

  const browser = await launch();
  const shot = async (name, url, selector, prepare) => {
    const page = await browser.open(url);
    await page.waitForSelector(selector, { timeout: 20000 });
    if (prepare) await prepare(page);
    await sleep(2500);  // a poll or two: charts drawn, counts in
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
    await page.close();
    console.log(`wrote ${join(out, name + '.png')}`);
  };
  const ui = `${server.url}/ui/#/${LOC}`;
  await shot('overview', ui, '#queues tr[data-queue="emails"]');
  await shot('queue', `${ui}/queues/emails`, '#config-form', (page) => page.select('#window', '300:1'));
  await shot('tasks', `${ui}/queues/reports/tasks`, '#tasks tr[data-task]');
  await shot('task', `${ui}/queues/reports/tasks/monthly-2026-01`, 'pre.body');
  await shot('dead-letters', `${ui}/queues/webhooks/deadLetters`, '#dead tr[data-task]');
  await shot('dead-letter', `${ui}/queues/webhooks/deadLetters/${deadId}`, 'table.headers');
  await shot('token', `${token.url}/ui/`, '#login');
  await browser.close();
} finally {
  await target.close();
  await server.stop();
  await token.stop();
}
