// Stands in for the two things the suite takes from the `bun` module: sleep and serve.
import http from 'node:http';
import { Readable } from 'node:stream';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Bun.serve({port, fetch}) on Node: listens on both loopback addresses (the suite's clients
// dial "localhost"); listen() on an address literal binds before it returns, as Bun's does.
export function serve({ port, fetch }) {
  const handler = async (req, res) => {
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const hasBody = body && req.method !== 'GET' && req.method !== 'HEAD';
      const request = new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method,
        headers: req.headers,
        body: hasBody ? body : undefined,
      });
      const response = await fetch(request);
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (response.body) Readable.fromWeb(response.body).pipe(res);
      else res.end();
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  };
  const servers = ['127.0.0.1', '::1'].map((host) => {
    const s = http.createServer(handler);
    s.on('error', () => {});
    s.listen(port, host);
    return s;
  });
  return {
    port,
    url: new URL(`http://localhost:${port}/`),
    stop(closeActive) {
      for (const s of servers) {
        s.close();
        if (closeActive) s.closeAllConnections();
      }
    },
  };
}
