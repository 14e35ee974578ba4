// Cluster mode of the compat tests (tests/compat/node_cluster_test.sh): with STRATUS_CLUSTER_PG
// set to a libpq conninfo, every startServer() starts two `stratus serve --store` nodes on a
// fresh database of that PostgreSQL and returns one server-like object for both:
//  - `url`/`port` are a round-robin TCP proxy: each new connection goes to the next node (raw
//    socket tests, anything that does not go through the helpers);
//  - the helpers alternate per call: call() sends each request straight to the next node, and
//    tasksClient() returns a client per node behind one object that alternates per method call;
//  - /metrics read through call() is the nodes' metrics merged (counters summed, gauges the
//    highest), since the dispatching node may be either;
//  - every node is started with --oidc-issuer set to the proxy's URL (unless the test sets its
//    own), since that is the URL the tests reach "the server" at, as a load balancer's;
//  - stop() fails unless both nodes answered API requests when the cluster served enough of
//    them, and appends a line per cluster to STRATUS_CLUSTER_REPORT for the runner's checks;
//  - a restart on the old `dataDir` (the cluster's, its first node's) starts both nodes again
//    on their data dirs and the same database; cleanup() drops the database (and any database
//    left is dropped when the process exits).
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import net from 'node:net';

export const CLUSTER_PG = process.env.STRATUS_CLUSTER_PG;
const NODES = 2;

// proxy URL (and port, as a string) -> the cluster.
const clusters = new Map();
let dbSeq = 0;
// A stopped cluster's first data dir -> {db, dataDirs}, for a restart on it.
const stopped = new Map();
// Databases not dropped yet (cleanup() drops its cluster's).
const databases = new Set();
process.on('exit', () => {
  for (const db of databases) {
    try {
      psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    } catch {
      // the server may be gone already
    }
  }
});

function psql(sql) {
  execFileSync('psql', [CLUSTER_PG, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
}

// A round-robin TCP proxy in front of `ports` (filled in by the caller once the nodes run);
// resolves with {port, close()}.
function roundRobinProxy(ports) {
  let next = 0;
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(ports[next++ % ports.length], '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        close() {
          for (const s of sockets) s.destroy();
          return new Promise((r) => server.close(r));
        },
      }),
    );
  });
}

// Sum of one metric's series in a /metrics text.
export function metricTotal(text, name) {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{.*\})? (\S+)$/);
    if (m && m[1] === name) sum += Number(m[2]);
  }
  return sum;
}

// The nodes' /metrics texts as one: a series present on several nodes is their sum for a
// counter or histogram part, their highest value for a gauge.
function mergeMetrics(texts) {
  const order = [];
  const values = new Map();
  const types = new Map();
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const t = line.match(/^# TYPE (\S+) (\S+)/);
      if (t) types.set(t[1], t[2]);
      const m = line.match(/^(([a-zA-Z_:][\w:]*)(?:\{.*\})?) (\S+)$/);
      if (!m) {
        if (line && !values.has(line)) {
          values.set(line, null);
          order.push(line);
        }
        continue;
      }
      const [, series, name, v] = m;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const gauge = (types.get(name) ?? types.get(base)) === 'gauge';
      if (!values.has(series)) {
        order.push(series);
        values.set(series, Number(v));
      } else {
        values.set(series, gauge ? Math.max(values.get(series), Number(v)) : values.get(series) + Number(v));
      }
    }
  }
  return order.map((k) => (values.get(k) === null ? k : `${k} ${values.get(k)}`)).join('\n') + '\n';
}

// Starts the nodes with `start(args)` (lib/server.mjs's single-node start), on a fresh database.
export async function startCluster(start, { args = [], dataDir } = {}) {
  let db;
  let dataDirs = [];
  if (dataDir) {
    const old = stopped.get(dataDir);
    if (!old) throw new Error(`cluster mode: ${dataDir} is no stopped cluster's data dir`);
    stopped.delete(dataDir);
    ({ db, dataDirs } = old);
  } else {
    db = `compat_${process.pid}_${++dbSeq}`;
    psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    psql(`CREATE DATABASE ${db} TEMPLATE template0`);
    databases.add(db);
  }
  const ports = [];
  const proxy = await roundRobinProxy(ports);
  const url = `http://127.0.0.1:${proxy.port}`;
  const redisChosen = args.some((a) => a === '--redis-url' || a === '--redis-listen' || a === '--redis-per-node');
  const issuerChosen = args.includes('--oidc-issuer');
  const nodeArgs = [
    '--store',
    `${CLUSTER_PG} dbname=${db}`,
    ...(redisChosen ? [] : ['--redis-listen', 'off']),
    ...(issuerChosen ? [] : ['--oidc-issuer', url]),
    ...args,
  ];
  const nodes = [];
  try {
    for (let i = 0; i < NODES; i++) nodes.push(await start({ args: nodeArgs, dataDir: dataDirs[i] }));
  } catch (e) {
    await Promise.all(nodes.map((n) => n.stop()));
    for (const n of nodes) n.cleanup();
    await proxy.close();
    throw e;
  }
  ports.push(...nodes.map((n) => n.port));
  let next = 0;
  const apiRequests = async () =>
    Promise.all(nodes.map(async (n) => metricTotal(await (await fetch(`${n.url}/metrics`)).text(), 'stratus_api_requests_total')));
  const cluster = {
    url,
    port: proxy.port,
    nodes,
    urls: nodes[0].urls,
    dataDir: nodes[0].dataDir,
    proc: nodes[0].proc,
    lines: nodes[0].lines,
    // The node the next call goes to.
    nextNode() {
      return nodes[next++ % nodes.length];
    },
    async metrics() {
      return mergeMetrics(await Promise.all(nodes.map(async (n) => (await fetch(`${n.url}/metrics`)).text())));
    },
    async stop() {
      let failure;
      try {
        const counts = await apiRequests();
        const metrics = await cluster.metrics();
        const dispatched = metricTotal(metrics, 'stratus_tasks_dispatched_total');
        if (process.env.STRATUS_CLUSTER_REPORT) {
          appendFileSync(process.env.STRATUS_CLUSTER_REPORT, `${process.argv[1] ?? ''} api=${counts.join(',')} dispatched=${dispatched}\n`);
        }
        // Every helper call alternates, so a cluster that served a few calls saw both nodes.
        const total = counts.reduce((a, b) => a + b, 0);
        if (total >= 6 && counts.some((c) => c === 0)) {
          failure = new Error(`cluster mode: the nodes answered ${counts.join(' and ')} API requests: one never answered`);
        }
      } catch (e) {
        failure = e;
      }
      await proxy.close();
      const exits = await Promise.all(nodes.map((n) => n.stop()));
      clusters.delete(url);
      clusters.delete(String(proxy.port));
      stopped.set(nodes[0].dataDir, { db, dataDirs: nodes.map((n) => n.dataDir) });
      if (failure) throw failure;
      return exits.find((x) => x.code !== 0) ?? exits[0];
    },
    async kill() {
      throw new Error('cluster mode: kill -9 of the whole cluster is not a cluster test');
    },
    cleanup() {
      for (const n of nodes) n.cleanup();
      stopped.delete(nodes[0].dataDir);
      if (databases.delete(db)) psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    },
  };
  clusters.set(url, cluster);
  clusters.set(String(proxy.port), cluster);
  return cluster;
}

// The cluster behind a proxy URL or port, or undefined.
export function clusterOf(key) {
  return clusters.get(String(key));
}

// One object for a client per node: each method call goes to the next node's client;
// close() closes them all.
export function alternating(clients) {
  let next = 0;
  return new Proxy(clients[0], {
    get(target, prop) {
      if (prop === 'close') return async () => Promise.all(clients.map((c) => c.close()));
      const v = target[prop];
      if (typeof v !== 'function') return v;
      return (...a) => {
        const c = clients[next++ % clients.length];
        return c[prop](...a);
      };
    },
  });
}
