// Run by tls.test.mjs in a child node whose NODE_EXTRA_CA_CERTS names the test CA (node reads
// it only at start): @google-cloud/tasks in REST mode over https and @upstash/redis against
// the Redis REST listener over https. Prints one JSON line of what they returned, or
// {"error": ...} when a client failed.
import { CloudTasksClient } from '@google-cloud/tasks';
import { googleAuthLibrary } from 'google-gax';
import { Redis } from '@upstash/redis';

const [tasksUrl, redisUrl, redisToken, suffix = ''] = process.argv.slice(2);
const PARENT = 'projects/tls-proj/locations/us-central1';

async function main() {
  const auth = new googleAuthLibrary.OAuth2Client();
  auth.setCredentials({ access_token: 'x' });
  const u = new URL(tasksUrl);
  const client = new CloudTasksClient({
    fallback: 'rest',
    protocol: 'https',
    apiEndpoint: u.hostname,
    port: Number(u.port),
    authClient: auth,
  });
  const out = {};
  try {
    const [queue] = await client.createQueue({ parent: PARENT, queue: { name: `${PARENT}/queues/tls-q${suffix}` } });
    out.queue = queue.name;
    const [task] = await client.createTask({
      parent: queue.name,
      task: {
        name: `${queue.name}/tasks/tls-t`,
        scheduleTime: { seconds: Math.floor(Date.now() / 1000) + 7200 }, // not delivered during the test
        httpRequest: { url: 'https://tls-target.example.test/job', httpMethod: 'POST' },
      },
    });
    out.task = task.name;
    const [queues] = await client.listQueues({ parent: PARENT });
    out.queues = queues.map((q) => q.name);
    const [tasks] = await client.listTasks({ parent: queue.name });
    out.tasks = tasks.map((t) => t.name);
  } finally {
    await client.close();
  }
  const redis = new Redis({ url: redisUrl, token: redisToken, enableAutoPipelining: false });
  out.set = await redis.set(`tls-key${suffix}`, 'over https');
  out.get = await redis.get(`tls-key${suffix}`);
  const p = redis.pipeline();
  p.incr(`tls-counter${suffix}`);
  p.incr(`tls-counter${suffix}`);
  out.pipeline = await p.exec();
  return out;
}

main().then(
  (out) => console.log(JSON.stringify(out)),
  (e) => console.log(JSON.stringify({ error: String(e?.cause?.code ?? e?.code ?? ''), message: String(e?.message ?? e) })),
);
