// TLS (https/wss with a configured certificate), ES256 tokens from a configured
// key pair, and JSON-lines logging — against the real binary on 127.0.0.1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { Gateway, Client, cleanup, tempDir, mintToken, runCli, HOST } from '../lib/gateway.js';

after(cleanup);

function openssl(args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function selfSignedCert(dir) {
  const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost']);
  return { cert, key };
}

function es256KeyPair(dir) {
  const priv = path.join(dir, 'es256.key'), pub = path.join(dir, 'es256.pub');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', priv]);
  openssl(['pkey', '-in', priv, '-pubout', '-out', pub]);
  return { priv, pub };
}

function httpsGet(port, p) {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: HOST, port, path: p, rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('https timeout')));
  });
}

test('TLS: https /healthz and a wss session with a configured certificate', async () => {
  const dir = tempDir();
  const { cert, key } = selfSignedCert(dir);
  const gw = await Gateway.start({ set: { 'tls.cert': cert, 'tls.key': key } });
  const r = await httpsGet(gw.port, '/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), { status: 'ready' });
  const token = gw.token({ role: 'clinician', name: 'Dr TLS', subject: 'tls-clin' });
  const c = await Client.open(`wss://${HOST}:${gw.port}/ws`, { wsOptions: { rejectUnauthorized: false } });
  const welcome = await c.request({ type: 'hello', token });
  assert.equal(welcome.type, 'welcome');
  assert.equal(welcome.user.subject, 'tls-clin');
  c.terminate();
  await gw.stop();
});

test('TLS: an unreadable certificate stops the start with a clear error', () => {
  const r = runCli(['run', '--data-dir', tempDir(), '--port', '0',
    '--set', 'tls.cert=/nonexistent/cert.pem', '--set', 'tls.key=/nonexistent/key.pem']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /cannot listen/);
});

test('ES256: tokens signed with the configured key pair are accepted, alongside HS256', async () => {
  const dir = tempDir();
  const { priv, pub } = es256KeyPair(dir);
  const gw = await Gateway.start({ set: { 'auth.es256_public_key': pub, 'auth.es256_private_key': priv } });
  const es = mintToken({ dataDir: gw.dataDir, role: 'specialist', name: 'Dr EC', subject: 'ec-spec',
    specialty: 'cardiology', alg: 'ES256',
    extraArgs: ['--set', `auth.es256_public_key=${pub}`, '--set', `auth.es256_private_key=${priv}`] });
  assert.equal(JSON.parse(Buffer.from(es.split('.')[0], 'base64url')).alg, 'ES256');
  const c = await gw.connectAs({ token: es });
  assert.equal(c.welcome.user.role, 'specialist');
  assert.deepEqual(c.welcome.user.specialties, ['cardiology']);
  const hs = await gw.connectAs({ role: 'clinician', name: 'Dr HS', subject: 'hs-clin' });
  assert.equal(hs.welcome.user.subject, 'hs-clin');
  // A token signed by another EC key is refused.
  const other = es256KeyPair(tempDir());
  const forged = mintToken({ dataDir: gw.dataDir, role: 'clinician', name: 'X', subject: 'x', alg: 'ES256',
    extraArgs: ['--set', `auth.es256_public_key=${other.pub}`, '--set', `auth.es256_private_key=${other.priv}`] });
  const bad = await gw.connect();
  const reply = await bad.request({ type: 'hello', token: forged });
  assert.equal(reply.type, 'error');
  assert.equal(reply.code, 'unauthenticated');
  assert.equal((await bad.closed).code, 4001);
  await gw.stop();
});

test('ES256: minting without a private key configured says so', () => {
  const r = runCli(['token', '--data-dir', tempDir(), '--role', 'clinician', '--tenant', 'kirov',
    '--name', 'N', '--alg', 'ES256']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /no signing key configured/);
});

test('logs: --log-json writes one JSON object per stderr line, without tokens', async () => {
  const gw = await Gateway.start({ args: ['--log-json'] });
  const c = await gw.connectAs({ role: 'clinician', name: 'Dr Log', subject: 'log-clin' });
  c.terminate();
  await gw.stop();
  const lines = gw.stderr.trim().split('\n').filter(Boolean);
  assert.ok(lines.length >= 2);
  for (const line of lines) {
    const o = JSON.parse(line);
    assert.ok(o.ts && o.level && o.module && typeof o.msg === 'string', line);
  }
  assert.ok(!gw.stderr.includes(c.token.split('.')[2]), 'a token signature appeared in the log');
  const secret = fs.readFileSync(path.join(gw.dataDir, 'jwt-secret'), 'utf8').trim();
  assert.ok(!gw.stderr.includes(secret), 'the signing secret appeared in the log');
});
