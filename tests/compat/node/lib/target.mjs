// A recording HTTP target for the delivery tests: a node:http server on 127.0.0.1:0 that
// records every request (method, url, headers, body, arrival time) and answers from a
// per-test script. It also tracks how many requests are in flight at once.
//
//   const t = await startTarget({ script: [503, 200] });   // statuses in order, then `fallback`
//   const t = await startTarget({ script: (rec, i) => ({ status: 200, delayMs: 50 }) });
//   t.url                 base URL ("http://127.0.0.1:PORT")
//   t.requests            every recorded request, in arrival order
//   t.byTask(id)          the requests whose X-CloudTasks-TaskName is id
//   t.maxInFlight         most requests in flight at once so far
//   t.script = ...        replace the script at run time
//   await t.close()
//
// A script entry (or a script function's result, possibly a promise) is a status number or
// {status, headers, body, delayMs}; delayMs holds the answer that long. `defaultDelayMs`
// applies to every answer that does not set its own.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export async function startTarget({ script = [], fallback = 200, defaultDelayMs = 0, port = 0 } = {}) {
  const requests = [];
  const sockets = new Set();
  let inFlight = 0;
  const target = {
    url: '',
    port: 0,
    requests,
    script,
    fallback,
    defaultDelayMs,
    maxInFlight: 0,
    get inFlight() {
      return inFlight;
    },
    byTask(id) {
      return requests.filter((r) => r.headers['x-cloudtasks-taskname'] === id);
    },
    // Forgets what was recorded so far (the in-flight high-water mark too).
    reset() {
      requests.length = 0;
      target.maxInFlight = inFlight;
    },
    async close() {
      await new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };

  const answerFor = async (rec) => {
    const s = target.script;
    let a;
    if (typeof s === 'function') {
      a = await s(rec, rec.index);
    } else {
      // Array scripts count the requests of one task (or all requests when untagged).
      const i = rec.taskIndex;
      a = i < s.length ? s[i] : target.fallback;
    }
    if (a === undefined || a === null) a = target.fallback;
    if (typeof a === 'number') a = { status: a };
    return a;
  };

  const server = http.createServer((req, res) => {
    const t = performance.now();
    const wall = Date.now();
    inFlight += 1;
    target.maxInFlight = Math.max(target.maxInFlight, inFlight);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const taskName = req.headers['x-cloudtasks-taskname'];
      const rec = {
        index: requests.length,
        taskIndex: taskName === undefined ? requests.length : requests.filter((r) => r.headers['x-cloudtasks-taskname'] === taskName).length,
        method: req.method,
        url: req.url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
        t,
        wall,
        answered: null, // {status, t} once the answer was written
      };
      requests.push(rec);
      // `answered.status` is null when the client went away before the answer was written.
      let a;
      const done = (status) => {
        if (rec.answered) return;
        inFlight -= 1;
        rec.answered = { status, t: performance.now(), wall: Date.now() };
      };
      res.on('finish', () => done(a.status));
      res.on('close', () => done(null));
      try {
        a = await answerFor(rec);
      } catch (e) {
        a = { status: 599, body: String(e) };
      }
      const delay = a.delayMs ?? target.defaultDelayMs;
      if (delay > 0 && !rec.answered) {
        // The hold ends early when the client goes away.
        await new Promise((r) => {
          const timer = setTimeout(r, delay);
          res.once('close', () => {
            clearTimeout(timer);
            r();
          });
        });
      }
      if (rec.answered || res.destroyed) return; // the client is gone
      res.writeHead(a.status, a.headers ?? {});
      res.end(a.body ?? '');
    });
  });
  server.keepAliveTimeout = 30000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  target.port = server.address().port;
  target.url = `http://127.0.0.1:${target.port}`;
  return target;
}

// Polls fn (sync or async) every intervalMs until it returns a truthy value, which it
// resolves with; rejects with `what` (a string, or a function giving one) after timeoutMs.
export async function waitFor(fn, timeoutMs = 10000, { intervalMs = 10, what = 'condition' } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
export async function freePort() {
  const s = http.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}
