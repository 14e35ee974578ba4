// Helpers of the dashboard tests: the real stratus binary (STRATUS_BIN, port 0, a fresh data
// dir), a local HTTP target, raw REST calls, and Debian's chromium driven by puppeteer-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

export const BIN = process.env.STRATUS_BIN;
if (!BIN) throw new Error('STRATUS_BIN is not set (run through tests/compat/ui_test.sh)');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const PROJECT = 'p';
export const LOCATION = 'l';
export const LOC = `projects/${PROJECT}/locations/${LOCATION}`;
export const qpath = (q) => `${LOC}/queues/${q}`;

// `stratus serve` on 127.0.0.1:0; resolves once it printed "stratus: ready".
export async function startServer(args = []) {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-ui-'));
  const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--redis-listen', 'off', '--data-dir', dir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  let url = '';
  let buffer = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('stratus did not become ready:\n' + lines.join('\n'))), 20000);
    proc.stdout.on('data', (chunk) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        const m = line.match(/^stratus: Cloud Tasks v2 API on (http:\/\/\S+)/);
        if (m) url = m[1];
        if (line === 'stratus: ready') {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    proc.stderr.on('data', (c) => lines.push(...c.toString().split('\n').filter(Boolean)));
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stratus exited with ${code}:\n` + lines.join('\n')));
    });
  });
  proc.removeAllListeners('exit');
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  return {
    url,
    lines,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// One REST exchange: {status, headers, text, json}.
export async function call(base, method, path, { body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { json = null; }
  return { status: res.status, headers: res.headers, text, json };
}
export async function ok(base, method, path, opts) {
  const r = await call(base, method, path, opts);
  if (r.status !== 200) throw new Error(`${method} ${path}: HTTP ${r.status} ${r.text}`);
  return r.json;
}
export const createQueue = (base, id, extra = {}, token) =>
  ok(base, 'POST', `/v2/${LOC}/queues`, { body: { name: qpath(id), ...extra }, token });
export function createTask(base, queue, { id, url, headers, body, scheduleMs } = {}, token) {
  const task = { httpRequest: { url, httpMethod: 'POST' } };
  if (id) task.name = `${qpath(queue)}/tasks/${id}`;
  if (headers) task.httpRequest.headers = headers;
  if (body !== undefined) task.httpRequest.body = Buffer.from(body).toString('base64');
  if (scheduleMs !== undefined) task.scheduleTime = new Date(scheduleMs).toISOString();
  return ok(base, 'POST', `/v2/${qpath(queue)}/tasks`, { body: { task }, token });
}

// A local target answering every request with `answer(req) -> {status, headers, body}` (or a promise of it).
export async function startTarget(answer = () => ({ status: 200 })) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const rec = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() };
      requests.push(rec);
      const a = await answer(rec);
      res.writeHead(a.status, a.headers || {});
      res.end(a.body || '');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

// Polls `fn` until it returns a truthy value (or throws the last error after `ms`).
export async function eventually(fn, ms = 20000, what = 'condition') {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Headless chromium. Each page records what must never happen: a call of window.__pwned (an
// exposed function the XSS payloads call), a CSP violation, an uncaught page error.
export async function launch() {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  const incidents = [];
  const open = async (url) => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.exposeFunction('__pwned', (what) => incidents.push(`payload ran: ${what}`));
    await page.evaluateOnNewDocument(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__pwned(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    page.on('pageerror', (e) => incidents.push(`page error: ${e.message}`));
    page.on('dialog', (d) => d.accept());
    if (url) await page.goto(url, { waitUntil: 'load' });
    return page;
  };
  return { browser, open, incidents, close: () => browser.close() };
}

// The text of every element matching `selector` on the page.
export function texts(page, selector) {
  return page.$$eval(selector, (els) => els.map((e) => e.textContent));
}
