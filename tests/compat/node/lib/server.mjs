// Starts the real stratus binary for a test: a fresh data dir, port 0, and the URLs it
// printed. STRATUS_BIN names the binary (node_test.sh sets it).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLUSTER_PG, startCluster } from './cluster.mjs';

export const BIN = process.env.STRATUS_BIN;
if (!BIN) throw new Error('STRATUS_BIN is not set (run through tests/compat/node_test.sh)');

// Starts `stratus serve` and resolves once it printed "stratus: ready".
// Returns {url, dataDir, proc, lines, stop(), kill()}; `urls` maps each API named in the
// banner ("Cloud Tasks v2 API", ...) to its base URL.
// With STRATUS_CLUSTER_PG set, two nodes on PostgreSQL behind one such object (lib/cluster.mjs).
export async function startServer({ args = [], dataDir } = {}) {
  if (CLUSTER_PG) return startCluster(startNode, { args, dataDir });
  return startNode({ args, dataDir });
}

async function startNode({ args = [], dataDir } = {}) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'stratus-test-'));
  // A free gRPC port unless the test picks one: the default (8124) is fixed.
  const grpc = args.includes('--grpc-listen') ? [] : ['--grpc-listen', '127.0.0.1:0'];
  const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, ...grpc, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  const urls = {};
  let buffer = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('stratus did not become ready:\n' + lines.join('\n'))), CLUSTER_PG ? 60000 : 15000);
    const onData = (chunk) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        const m = line.match(/^stratus: (.+?) on (https?:\/\/\S+)/);
        if (m) urls[m[1]] = m[2];
        if (line === 'stratus: ready') {
          clearTimeout(timer);
          resolve();
        }
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (c) => lines.push(...c.toString().split('\n').filter(Boolean)));
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stratus exited with ${code}:\n` + lines.join('\n')));
    });
  });
  proc.removeAllListeners('exit');
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const url = urls['Cloud Tasks v2 API'];
  const grpcUrl = urls['Cloud Tasks v2 gRPC API'];
  return {
    url,
    // The gRPC API's host and port (undefined with --grpc-listen off).
    grpcHost: grpcUrl ? new URL(grpcUrl).hostname : undefined,
    grpcPort: grpcUrl ? Number(new URL(grpcUrl).port) : undefined,
    urls,
    port: Number(new URL(url).port),
    dataDir: dir,
    proc,
    lines,
    exited,
    // Graceful stop (SIGTERM); resolves with the exit status.
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
    // kill -9.
    async kill() {
      proc.kill('SIGKILL');
      return exited;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
