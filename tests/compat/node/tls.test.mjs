// Both npm clients over HTTPS (--tls-cert/--tls-key) with a test CA the openssl CLI makes here:
// @google-cloud/tasks in REST mode (protocol https) and @upstash/redis, each trusting the CA
// through NODE_EXTRA_CA_CERTS (in a child node, which reads it at start), and refusing the
// server without it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.mjs';

const TOKEN = 'tls-t0ken';
const CLIENTS = fileURLToPath(new URL('./lib/tls_clients.mjs', import.meta.url));
let pki;
let server;

function makePki() {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const run = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=stratus node test CA');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '9', '-days', '2',
    '-extfile', 'ext.cnf', '-out', 'server.pem');
  return { dir, ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

// Runs the clients in a child node; resolves with what they printed.
function runClients(env, suffix = '') {
  return new Promise((resolve, reject) => {
    const urls = [server.urls['Cloud Tasks v2 API'], server.urls['Redis REST API'], TOKEN, suffix];
    execFile(process.execPath, [CLIENTS, ...urls], { env, timeout: 60000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`clients failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()));
      } catch {
        reject(new Error(`clients printed no JSON: ${stdout}\n${stderr}`));
      }
    });
  });
}

before(async () => {
  pki = makePki();
  server = await startServer({ args: ['--tls-cert', pki.cert, '--tls-key', pki.key, '--redis-token', TOKEN] });
});

after(async () => {
  if (server) {
    await server.stop();
    server.cleanup();
  }
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

test('the banner reports https:// for both listeners', () => {
  assert.match(server.urls['Cloud Tasks v2 API'], /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(server.urls['Redis REST API'], /^https:\/\/127\.0\.0\.1:\d+$/);
});

test('@google-cloud/tasks and @upstash/redis work over https with the test CA', async () => {
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: pki.ca };
  const out = await runClients(env);
  assert.equal(out.error, undefined, `a client failed: ${JSON.stringify(out)}`);
  const queue = 'projects/tls-proj/locations/us-central1/queues/tls-q';
  assert.equal(out.queue, queue);
  assert.equal(out.task, `${queue}/tasks/tls-t`);
  assert.ok(out.queues.includes(queue), JSON.stringify(out.queues));
  assert.deepEqual(out.tasks, [`${queue}/tasks/tls-t`]);
  assert.equal(out.set, 'OK');
  assert.equal(out.get, 'over https');
  assert.deepEqual(out.pipeline, [1, 2]);
});

test('without the CA the client refuses the certificate', async () => {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const out = await runClients(env, '-untrusted');
  assert.ok(out.error !== undefined, `a client accepted an untrusted certificate: ${JSON.stringify(out)}`);
  assert.match(`${out.error} ${out.message}`, /SELF_SIGNED|UNABLE_TO_VERIFY|certificate|CERT/i, JSON.stringify(out));
});

test('plain http on the https port gets a clean 400, then https still works', async () => {
  const plain = server.urls['Cloud Tasks v2 API'].replace('https://', 'http://');
  const r = await fetch(`${plain}/healthz`, { signal: AbortSignal.timeout(10000) });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /HTTPS/);
  const out = await runClients({ ...process.env, NODE_EXTRA_CA_CERTS: pki.ca }, '-after-plain');
  assert.equal(out.error, undefined, JSON.stringify(out));
  assert.equal(out.get, 'over https');
});
