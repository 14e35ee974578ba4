// Small helpers shared by the compat tests: raw REST calls against a started server, the
// Cloud Tasks client in REST mode, and full snapshots of a server's queues and tasks.
import { CloudTasksClient } from '@google-cloud/tasks';
import { googleAuthLibrary } from 'google-gax';
import { alternating, clusterOf } from './cluster.mjs';

// One raw HTTP exchange. `body` may be an object (sent as JSON) or a string (sent as is).
// Resolves with {status, headers, text, json} (json is null when the reply is not JSON).
// On a cluster (lib/cluster.mjs) each call goes to the next node; /metrics is every node's, merged.
export async function call(base, method, path, { body, headers = {}, token, timeoutMs = 10000 } = {}) {
  const cluster = clusterOf(base);
  if (cluster && method === 'GET' && path === '/metrics') {
    const text = await cluster.metrics();
    return { status: 200, headers: new Headers({ 'content-type': 'text/plain' }), text, json: null };
  }
  if (cluster) base = cluster.nextNode().url;
  const h = { ...headers };
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  }
  if (token) h.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json };
}

// A CloudTasksClient in REST mode pointed at the server, exactly as cloud-tasks.md describes.
// On a cluster, a client per node behind one object that alternates per call.
export function tasksClient(port, { accessToken = 'x', apiKey } = {}) {
  const cluster = clusterOf(port);
  if (cluster) return alternating(cluster.nodes.map((n) => tasksClient(n.port, { accessToken, apiKey })));
  const opts = { fallback: 'rest', protocol: 'http', apiEndpoint: '127.0.0.1', port };
  if (apiKey) {
    opts.apiKey = apiKey;
  } else {
    const authClient = new googleAuthLibrary.OAuth2Client();
    authClient.setCredentials({ access_token: accessToken });
    opts.authClient = authClient;
  }
  return new CloudTasksClient(opts);
}

// Every queue under a location and every task of each queue, in FULL view, as the server
// serialises them (raw JSON, keyed by name), read through the paged list and get calls.
export async function snapshot(base, location, { token } = {}) {
  const queues = {};
  const tasks = {};
  let pageToken = '';
  do {
    const r = await call(base, 'GET', `/v2/${location}/queues?pageSize=3${pageToken ? `&pageToken=${pageToken}` : ''}`, { token });
    if (r.status !== 200) throw new Error(`list queues: ${r.status} ${r.text}`);
    for (const q of r.json.queues ?? []) queues[q.name] = q;
    pageToken = r.json.nextPageToken ?? '';
  } while (pageToken);
  for (const name of Object.keys(queues)) {
    const g = await call(base, 'GET', `/v2/${name}`, { token });
    if (g.status !== 200) throw new Error(`get ${name}: ${g.status} ${g.text}`);
    if (JSON.stringify(g.json) !== JSON.stringify(queues[name])) {
      throw new Error(`queues.get and queues.list disagree on ${name}:\n${g.text}\n${JSON.stringify(queues[name])}`);
    }
    pageToken = '';
    do {
      const r = await call(
        base,
        'GET',
        `/v2/${name}/tasks?responseView=FULL&pageSize=500${pageToken ? `&pageToken=${pageToken}` : ''}`,
        { token },
      );
      if (r.status !== 200) throw new Error(`list tasks of ${name}: ${r.status} ${r.text}`);
      for (const t of r.json.tasks ?? []) {
        if (tasks[t.name]) throw new Error(`task listed twice: ${t.name}`);
        tasks[t.name] = t;
      }
      pageToken = r.json.nextPageToken ?? '';
    } while (pageToken);
  }
  return { queues, tasks };
}

// Names of every task in one queue (paged through the list call).
export async function listTaskNames(base, queue, { pageSize = 1000, token } = {}) {
  const names = [];
  let pageToken = '';
  do {
    const r = await call(base, 'GET', `/v2/${queue}/tasks?pageSize=${pageSize}${pageToken ? `&pageToken=${pageToken}` : ''}`, {
      token,
    });
    if (r.status !== 200) throw new Error(`list tasks of ${queue}: ${r.status} ${r.text}`);
    for (const t of r.json.tasks ?? []) names.push(t.name);
    pageToken = r.json.nextPageToken ?? '';
  } while (pageToken);
  return names;
}
