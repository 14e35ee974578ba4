// OIDC tokens on push delivery (issue 3, test 3): the target verifies the Bearer token with
// jose against the JWKS the server's discovery document names: issuer, audience (explicit,
// and defaulting to the task URL), signature, expiry, the service-account claims; tampered
// tokens and a wrong audience are rejected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader, decodeJwt } from 'jose';
import { call } from './lib/rest.mjs';
import { startTarget, waitFor } from './lib/target.mjs';
import { startDeliveryServer, createQueue, createTask } from './lib/delivery.mjs';

let srv;
let target;
let discovery;
let jwks;
const SA = 'worker@my-project.iam.gserviceaccount.com';

before(async () => {
  srv = await startDeliveryServer();
  target = await startTarget({ script: () => 200 });
  const d = await call(srv.url, 'GET', '/.well-known/openid-configuration');
  assert.equal(d.status, 200, d.text);
  discovery = d.json;
  jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  await createQueue(srv.url, 'oidc');
});

after(async () => {
  await target?.close();
  await srv?.stop();
  srv?.cleanup();
});

function bearer(rec) {
  const a = rec.headers.authorization ?? '';
  assert.match(a, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/, `Authorization header: ${a}`);
  return a.slice('Bearer '.length);
}

async function deliver(id, url, oidcToken) {
  await createTask(srv.url, 'oidc', { id, url, oidc: oidcToken, body: 'x' });
  await waitFor(() => target.byTask(id).length >= 1, 10000, { what: `delivery of ${id}` });
  return target.byTask(id)[0];
}

test('the discovery document names the issuer and the JWKS', async () => {
  assert.equal(discovery.issuer, srv.url, 'iss defaults to the server base URL');
  assert.equal(discovery.jwks_uri, `${srv.url}/.well-known/jwks.json`);
  const j = await call(srv.url, 'GET', '/.well-known/jwks.json');
  assert.equal(j.status, 200);
  assert.ok(Array.isArray(j.json.keys) && j.json.keys.length >= 1, j.text);
  for (const k of j.json.keys) {
    assert.equal(k.kty, 'RSA');
    assert.ok(k.kid && k.n && k.e, JSON.stringify(k));
  }
});

test('a token with an explicit audience verifies against the JWKS', async () => {
  const audience = 'https://my-service.example.com';
  const rec = await deliver('explicit-aud', `${target.url}/oidc/a`, { serviceAccountEmail: SA, audience });
  const token = bearer(rec);
  const header = decodeProtectedHeader(token);
  assert.equal(header.alg, 'RS256');
  assert.ok(header.kid, 'the header has a kid');
  const jwksDoc = (await call(srv.url, 'GET', '/.well-known/jwks.json')).json;
  assert.ok(jwksDoc.keys.some((k) => k.kid === header.kid), `kid ${header.kid} is in the JWKS`);

  const before = Math.floor(Date.now() / 1000);
  const { payload } = await jwtVerify(token, jwks, { issuer: discovery.issuer, audience, algorithms: ['RS256'] });
  assert.equal(payload.iss, srv.url);
  assert.equal(payload.aud, audience);
  assert.equal(payload.sub, SA);
  assert.equal(payload.email, SA);
  assert.equal(payload.email_verified, true);
  assert.ok(payload.azp, 'azp is set');
  assert.equal(typeof payload.iat, 'number');
  assert.equal(payload.exp - payload.iat, 3600);
  assert.ok(Math.abs(payload.iat - before) <= 60, `iat ${payload.iat} is about now (${before})`);
  assert.ok(payload.exp > before, 'not expired');

  // The token is bound to its audience.
  await assert.rejects(
    jwtVerify(token, jwks, { issuer: discovery.issuer, audience: 'https://someone-else.example.com' }),
    (e) => e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && e.claim === 'aud',
  );
  // ... and to its issuer.
  await assert.rejects(jwtVerify(token, jwks, { issuer: 'https://accounts.google.com', audience }), (e) => e.claim === 'iss');
  // ... and it expires: verified an hour and a bit later it is rejected.
  await assert.rejects(
    jwtVerify(token, jwks, { issuer: discovery.issuer, audience, currentDate: new Date((payload.exp + 60) * 1000) }),
    (e) => e.code === 'ERR_JWT_EXPIRED',
  );
});

test('the audience defaults to the task URL', async () => {
  const url = `${target.url}/oidc/default?x=1`;
  const rec = await deliver('default-aud', url, { serviceAccountEmail: SA });
  const { payload } = await jwtVerify(bearer(rec), jwks, { issuer: discovery.issuer, audience: url });
  assert.equal(payload.aud, url);
  assert.equal(payload.email, SA);
});

test('a tampered token is rejected', async () => {
  const rec = await deliver('tamper', `${target.url}/oidc/t`, { serviceAccountEmail: SA, audience: 'aud-1' });
  const token = bearer(rec);
  const [h, p, s] = token.split('.');
  // The genuine token verifies.
  await jwtVerify(token, jwks, { issuer: discovery.issuer, audience: 'aud-1' });

  // A changed claim (re-encoded, same signature).
  const claims = decodeJwt(token);
  const forged = Buffer.from(JSON.stringify({ ...claims, email: 'attacker@evil.example' })).toString('base64url');
  await assert.rejects(
    jwtVerify(`${h}.${forged}.${s}`, jwks, { issuer: discovery.issuer, audience: 'aud-1' }),
    (e) => e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  );
  // One flipped character in the payload.
  const i = Math.floor(p.length / 2);
  const flipped = p.slice(0, i) + (p[i] === 'A' ? 'B' : 'A') + p.slice(i + 1);
  await assert.rejects(jwtVerify(`${h}.${flipped}.${s}`, jwks, { issuer: discovery.issuer, audience: 'aud-1' }));
  // One flipped character in the signature.
  const j = Math.floor(s.length / 2);
  const badSig = s.slice(0, j) + (s[j] === 'A' ? 'B' : 'A') + s.slice(j + 1);
  await assert.rejects(
    jwtVerify(`${h}.${p}.${badSig}`, jwks, { issuer: discovery.issuer, audience: 'aud-1' }),
    (e) => e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  );
  // alg none is refused.
  const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  await assert.rejects(jwtVerify(`${none}.${p}.`, jwks, { issuer: discovery.issuer, audience: 'aud-1' }));
});

test('a task without oidcToken carries no Authorization header', async () => {
  await createTask(srv.url, 'oidc', { id: 'plain', url: `${target.url}/plain` });
  await waitFor(() => target.byTask('plain').length === 1, 10000, { what: 'delivery' });
  assert.equal(target.byTask('plain')[0].headers.authorization, undefined);
});

test('the issuer is configurable with --oidc-issuer', async () => {
  const other = await startDeliveryServer({ args: ['--oidc-issuer', 'https://tasks.example.com'] });
  try {
    const d = (await call(other.url, 'GET', '/.well-known/openid-configuration')).json;
    assert.equal(d.issuer, 'https://tasks.example.com');
    await createQueue(other.url, 'oidc');
    await createTask(other.url, 'oidc', { id: 'iss', url: `${target.url}/iss`, oidc: { serviceAccountEmail: SA, audience: 'a' } });
    await waitFor(() => target.byTask('iss').length === 1, 10000, { what: 'delivery' });
    // A configured issuer is the public base URL: the JWKS is named under it, and served here too.
    assert.equal(d.jwks_uri, 'https://tasks.example.com/.well-known/jwks.json');
    const keys = createRemoteJWKSet(new URL(`${other.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(bearer(target.byTask('iss')[0]), keys, { issuer: 'https://tasks.example.com', audience: 'a' });
    assert.equal(payload.iss, 'https://tasks.example.com');
  } finally {
    await other.stop();
    other.cleanup();
  }
});

test('the signing key is kept in the data dir: tokens verify across a restart', async () => {
  const rec = target.byTask('explicit-aud')[0];
  const token = bearer(rec);
  const { kid } = decodeProtectedHeader(token);
  await srv.stop();
  srv = await startDeliveryServer({ dataDir: srv.dataDir });
  const d = (await call(srv.url, 'GET', '/.well-known/openid-configuration')).json;
  const keys = createRemoteJWKSet(new URL(d.jwks_uri));
  // The old token still verifies against the restarted server's JWKS (same key, new port).
  await jwtVerify(token, keys, { audience: 'https://my-service.example.com' });
  await createTask(srv.url, 'oidc', { id: 'after-restart', url: `${target.url}/ar`, oidc: { serviceAccountEmail: SA, audience: 'a' } });
  await waitFor(() => target.byTask('after-restart').length === 1, 10000, { what: 'delivery after the restart' });
  const fresh = bearer(target.byTask('after-restart')[0]);
  assert.equal(decodeProtectedHeader(fresh).kid, kid, 'the same key signs after the restart');
  await jwtVerify(fresh, keys, { issuer: d.issuer, audience: 'a' });
});
