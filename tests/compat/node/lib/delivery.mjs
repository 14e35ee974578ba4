// REST helpers shared by the delivery tests (delivery_*.test.mjs): queues, tasks, dead
// letters and the stratus queue config, all in location projects/p/locations/l.
import { call } from './rest.mjs';
import { startServer } from './server.mjs';

export const LOC = 'projects/p/locations/l';
export const qpath = (q) => `${LOC}/queues/${q}`;
export const tpath = (q, t) => `${LOC}/queues/${q}/tasks/${t}`;

function ok(r, what) {
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status} ${r.text}`);
  return r.json;
}

// startServer with the Redis listener off.
export function startDeliveryServer({ args = [], dataDir } = {}) {
  return startServer({ args: ['--redis-listen', 'off', ...args], dataDir });
}

export async function createQueue(base, id, extra = {}) {
  const r = await call(base, 'POST', `/v2/${LOC}/queues`, { body: { name: qpath(id), ...extra } });
  return ok(r, `create queue ${id}`);
}

// opts: {id, url, method, headers, body (string|Buffer, sent base64), oidc, scheduleMs, dispatchDeadline}
export function taskBody(queue, { id, url, method = 'POST', headers, body, oidc, scheduleMs, dispatchDeadline } = {}) {
  const task = { httpRequest: { url, httpMethod: method } };
  if (id) task.name = tpath(queue, id);
  if (headers) task.httpRequest.headers = headers;
  if (body !== undefined) task.httpRequest.body = Buffer.from(body).toString('base64');
  if (oidc) task.httpRequest.oidcToken = oidc;
  if (scheduleMs !== undefined) task.scheduleTime = new Date(scheduleMs).toISOString();
  if (dispatchDeadline) task.dispatchDeadline = dispatchDeadline;
  return { task };
}

export async function createTask(base, queue, opts) {
  const r = await call(base, 'POST', `/v2/${qpath(queue)}/tasks`, { body: taskBody(queue, opts) });
  return ok(r, `create task in ${queue}`);
}

// The task in FULL view, or null when it is gone (404).
export async function getTask(base, queue, id) {
  const r = await call(base, 'GET', `/v2/${tpath(queue, id)}?responseView=FULL`);
  if (r.status === 404) return null;
  return ok(r, `get task ${id}`);
}

export async function queueOp(base, queue, op) {
  return ok(await call(base, 'POST', `/v2/${qpath(queue)}:${op}`, { body: {} }), `${op} ${queue}`);
}

export const stratusQueue = (q) => `/stratus/v1/${qpath(q)}`;

export async function listDeadLetters(base, queue) {
  const out = [];
  let token = '';
  do {
    const r = await call(base, 'GET', `${stratusQueue(queue)}/deadLetters${token ? `?pageToken=${encodeURIComponent(token)}` : ''}`);
    const j = ok(r, `list dead letters of ${queue}`);
    out.push(...(j.deadLetters ?? []));
    token = j.nextPageToken ?? '';
  } while (token);
  return out;
}

// "2026-11-22T05:15:00.123456Z" -> "1763788500.123456" (the X-CloudTasks-TaskETA form).
export function etaOf(rfc3339) {
  const m = rfc3339.match(/^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/);
  if (!m) throw new Error(`not an RFC 3339 UTC time: ${rfc3339}`);
  const secs = Date.parse(m[1] + 'Z') / 1000;
  const frac = ((m[2] ?? '') + '000000').slice(0, 6);
  return `${secs}.${frac}`;
}

// RFC 3339 -> milliseconds since the epoch, keeping the microseconds as a fraction.
export function msOf(rfc3339) {
  return Number(etaOf(rfc3339)) * 1000;
}

// The value of one Prometheus series in /metrics text, e.g. metric(text,
// 'stratus_tasks_retried_total', {queue: 'projects/p/locations/l/queues/q'}); undefined if absent.
export function metric(text, name, labels = {}) {
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.keys(labels).length === Object.keys(got).length && Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}
