// @google-cloud/scheduler, unchanged, in REST mode against the real binary: the job calls an
// app makes (create, get, list with pages, update with a mask, pause, resume, run, delete), the
// fields it reads back, and the errors it surfaces.
//
// Unlike @google-cloud/tasks 6.3 (tasks_client.test.mjs), this client's REST transport reads the
// google.rpc.Status reply itself: err.code is the gRPC code its `status` names (6 ALREADY_EXISTS,
// 5 NOT_FOUND, 3 INVALID_ARGUMENT, 12 UNIMPLEMENTED) and err.message the message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { googleAuthLibrary } from 'google-gax';
import { alternating, clusterOf } from './lib/cluster.mjs';
import { startServer } from './lib/server.mjs';

const PROJECT = 'compat-proj';
const LOCATION = 'us-central1';
const PARENT = `projects/${PROJECT}/locations/${LOCATION}`;
const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;
const UNIMPLEMENTED = 12;

let server;
let client;

// On a cluster (node_cluster_test.sh), a client per node behind one object alternating per call.
function schedulerClient(port) {
  const cluster = clusterOf(port);
  if (cluster) return alternating(cluster.nodes.map((n) => schedulerClient(n.port)));
  const authClient = new googleAuthLibrary.OAuth2Client();
  authClient.setCredentials({ access_token: 'x' });
  return new CloudSchedulerClient({ fallback: 'rest', protocol: 'http', apiEndpoint: '127.0.0.1', port, authClient });
}

before(async () => {
  server = await startServer({ args: ['--redis-listen', 'off'] });
  client = schedulerClient(server.port);
});

after(async () => {
  await client?.close();
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

async function rejects(fn, code, message) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an error with code ${code}, the call succeeded`);
  assert.equal(err.code, code, `err.code: ${err.code} (${err.message})`);
  if (message !== undefined) assert.equal(err.message, message);
}

const jobName = (id) => `${PARENT}/jobs/${id}`;
const stateName = (s) =>
  typeof s === 'number' ? ['STATE_UNSPECIFIED', 'ENABLED', 'PAUSED', 'DISABLED', 'UPDATE_FAILED'][s] : s;
const methodName = (m) =>
  typeof m === 'number' ? ['HTTP_METHOD_UNSPECIFIED', 'POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'][m] : m;
const secs = (d) => Number(d?.seconds ?? 0) + (d?.nanos ?? 0) / 1e9;
const millis = (t) => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

function httpJob(id, extra = {}) {
  return {
    name: jobName(id),
    schedule: '*/10 * * * *',
    timeZone: 'America/New_York',
    httpTarget: { uri: `http://127.0.0.1:9/jobs/${id}`, httpMethod: 'POST', body: Buffer.from('{"n":1}') },
    ...extra,
  };
}

test('create, get and the fields the client reads back', async () => {
  const [created] = await client.createJob({
    parent: PARENT,
    job: httpJob('token-health', {
      description: 'token health reminders',
      httpTarget: {
        uri: 'http://127.0.0.1:9/jobs/token-health',
        httpMethod: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: Buffer.from('{"n":1}'),
        oidcToken: { serviceAccountEmail: `jobs@${PROJECT}.iam.gserviceaccount.com`, audience: 'https://catchup' },
      },
      retryConfig: { retryCount: 2, minBackoffDuration: { seconds: 10 }, maxDoublings: 3 },
      attemptDeadline: { seconds: 60 },
    }),
  });
  assert.equal(created.name, jobName('token-health'));
  assert.equal(stateName(created.state), 'ENABLED');
  assert.equal(created.description, 'token health reminders');
  assert.equal(created.timeZone, 'America/New_York');
  assert.equal(methodName(created.httpTarget.httpMethod), 'PUT');
  assert.equal(Buffer.from(created.httpTarget.body).toString(), '{"n":1}');
  assert.equal(created.httpTarget.headers['User-Agent'], 'Google-Cloud-Scheduler');
  assert.equal(created.httpTarget.oidcToken.audience, 'https://catchup');
  assert.equal(created.retryConfig.retryCount, 2);
  assert.equal(secs(created.retryConfig.minBackoffDuration), 10);
  assert.equal(secs(created.retryConfig.maxBackoffDuration), 3600);
  assert.equal(created.retryConfig.maxDoublings, 3);
  assert.equal(secs(created.attemptDeadline), 60);
  assert.ok(millis(created.scheduleTime) > millis(created.userUpdateTime), JSON.stringify(created));
  assert.equal(new Date(millis(created.scheduleTime)).getUTCMinutes() % 10, 0);

  const [got] = await client.getJob({ name: jobName('token-health') });
  assert.deepEqual(got, created);
  await rejects(() => client.createJob({ parent: PARENT, job: httpJob('token-health') }), ALREADY_EXISTS,
    `Job ${jobName('token-health')} already exists.`);
  await client.deleteJob({ name: jobName('token-health') });
});

test('list pages through every job', async () => {
  for (let i = 0; i < 5; i++) await client.createJob({ parent: PARENT, job: httpJob(`page-${i}`) });
  const [jobs] = await client.listJobs({ parent: PARENT, pageSize: 2 });
  assert.deepEqual(jobs.map((j) => j.name), [0, 1, 2, 3, 4].map((i) => jobName(`page-${i}`)));
  const [first, , response] = await client.listJobs({ parent: PARENT, pageSize: 2 }, { autoPaginate: false });
  assert.equal(first.length, 2);
  assert.ok(response.nextPageToken);
  for (let i = 0; i < 5; i++) await client.deleteJob({ name: jobName(`page-${i}`) });
  const [none] = await client.listJobs({ parent: PARENT });
  assert.deepEqual(none, []);
});

test('update with a mask, pause, resume, run, delete', async () => {
  await client.createJob({ parent: PARENT, job: httpJob('renew', { description: 'kept' }) });
  const [updated] = await client.updateJob({
    job: { name: jobName('renew'), schedule: '0 9 * * MON', description: 'not in the mask', retryConfig: { retryCount: 4 } },
    updateMask: { paths: ['schedule', 'retry_config.retry_count'] },
  });
  assert.equal(updated.schedule, '0 9 * * MON');
  assert.equal(updated.description, 'kept');
  assert.equal(updated.retryConfig.retryCount, 4);
  const next = new Date(millis(updated.scheduleTime));
  assert.equal(next.getUTCDay() === 1 || next.getUTCDay() === 2, true, next.toISOString());  // 09:00 New York, Monday

  const [paused] = await client.pauseJob({ name: jobName('renew') });
  assert.equal(stateName(paused.state), 'PAUSED');
  const [resumed] = await client.resumeJob({ name: jobName('renew') });
  assert.equal(stateName(resumed.state), 'ENABLED');
  assert.ok(millis(resumed.scheduleTime) > Date.now() - 1000);
  const [run] = await client.runJob({ name: jobName('renew') });
  assert.equal(run.name, jobName('renew'));

  await client.deleteJob({ name: jobName('renew') });
  await rejects(() => client.getJob({ name: jobName('renew') }), NOT_FOUND, 'Job not found.');
  await rejects(() => client.pauseJob({ name: jobName('renew') }), NOT_FOUND, 'Job not found.');
});

test('bad requests answer INVALID_ARGUMENT or UNIMPLEMENTED', async () => {
  await rejects(() => client.createJob({ parent: PARENT, job: httpJob('bad', { schedule: '* * *' }) }), INVALID_ARGUMENT);
  await rejects(() => client.createJob({ parent: PARENT, job: httpJob('bad', { timeZone: 'Nowhere/City' }) }), INVALID_ARGUMENT);
  await rejects(() => client.createJob({ parent: PARENT, job: httpJob('bad', { retryConfig: { retryCount: 6 } }) }), INVALID_ARGUMENT,
    'RetryConfig.retryCount must be between 0 and 5.');
  await rejects(
    () => client.createJob({ parent: PARENT, job: { name: jobName('bad'), schedule: '* * * * *', pubsubTarget: { topicName: `projects/${PROJECT}/topics/t` } } }),
    UNIMPLEMENTED);
  const [jobs] = await client.listJobs({ parent: PARENT });
  assert.deepEqual(jobs, []);
});
