// http.test.js — the plain HTTP side: /healthz, /metrics, 404, static files
// from web_root (and nothing outside it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Gateway, cleanup, consultRequest, okConsult, tempDir } from '../lib/gateway.js';

const CLINICIAN = { role: 'clinician', tenant: 'kirov', name: 'Metrics Clinician', subject: 'metrics-clin' };
const SPECIALIST = { role: 'specialist', tenant: 'kirov', name: 'Metrics Specialist', subject: 'metrics-spec', specialties: ['cardiology'] };

describe('HTTP endpoints', () => {
  let gw, root, webRoot;
  const INDEX = '<!doctype html><title>Consilium test page 7f3a</title><p>hello</p>\n';
  const SECRET = 'outside-web-root-secret-9c1e';

  before(async () => {
    root = tempDir('consilium-web-');
    webRoot = path.join(root, 'web');
    fs.mkdirSync(path.join(webRoot, 'js'), { recursive: true });
    fs.writeFileSync(path.join(webRoot, 'index.html'), INDEX);
    fs.writeFileSync(path.join(webRoot, 'js', 'app.js'), 'console.log("app");\n');
    fs.writeFileSync(path.join(root, 'secret.txt'), SECRET);
    gw = await Gateway.start({ set: { web_root: webRoot } });
  });
  after(cleanup);

  test('GET /healthz → 200 {"status":"ready"}', async () => {
    const r = await gw.http('/healthz');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /application\/json/);
    assert.deepEqual(JSON.parse(r.body), { status: 'ready' });
  });

  test('GET /nonexistent → 404', async () => {
    const r = await gw.http('/nonexistent');
    assert.equal(r.status, 404);
    const r2 = await gw.http('/js/nonexistent.js');
    assert.equal(r2.status, 404);
  });

  test('static files: GET / serves web_root/index.html', async () => {
    const r = await gw.http('/');
    assert.equal(r.status, 200);
    assert.equal(r.body, INDEX);
    assert.match(r.headers['content-type'], /text\/html/);
    const r2 = await gw.http('/index.html');
    assert.equal(r2.status, 200);
    assert.equal(r2.body, INDEX);
    const r3 = await gw.http('/js/app.js');
    assert.equal(r3.status, 200);
    assert.equal(r3.body, 'console.log("app");\n');
    assert.match(r3.headers['content-type'], /javascript/);
  });

  test('every response forbids framing, sniffing, referrers and foreign scripts', async () => {
    for (const p of ['/', '/healthz', '/nonexistent']) {
      const r = await gw.http(p);
      assert.equal(r.headers['x-frame-options'], 'DENY', p);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
      assert.equal(r.headers['referrer-policy'], 'no-referrer', p);
      const csp = r.headers['content-security-policy'] ?? '';
      assert.match(csp, /script-src 'self'/, p);
      assert.match(csp, /frame-ancestors 'none'/, p);
    }
  });

  test('static files: nothing outside web_root is served', async () => {
    for (const p of ['/../secret.txt', '/js/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt', '/js/%2e%2e/%2e%2e/secret.txt']) {
      const r = await gw.http(p);
      assert.ok(!r.body.includes(SECRET), `${p} leaked a file outside web_root (status ${r.status})`);
      assert.notEqual(r.status, 200, `${p} answered 200`);
    }
    const r = await gw.http('/../jwt-secret');
    assert.notEqual(r.status, 200);
  });

  test('GET /ws without an upgrade is not a WebSocket and does not crash anything', async () => {
    const r = await gw.http('/ws');
    assert.notEqual(r.status, 101);
    assert.equal((await gw.http('/healthz')).status, 200);
  });

  test('GET /metrics: connections, consults by state, queue length, pairing histogram', async () => {
    let r = await gw.http('/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /text\/plain/);
    for (const name of ['consilium_connections', 'consilium_consults{state="requested"}', 'consilium_pairing_seconds_bucket',
      'consilium_pairing_seconds_count', 'consilium_pairing_seconds_sum', '# TYPE consilium_pairing_seconds histogram']) {
      assert.ok(r.body.includes(name), `/metrics has ${name}`);
    }
    const m0 = await gw.metrics();
    assert.equal(m0.consilium_connections, 0);
    assert.equal(m0['consilium_consults{state="requested"}'], 0);

    const clin = await gw.connectAs(CLINICIAN);
    const spec = await gw.connectAs(SPECIALIST);
    const m1 = await gw.metrics();
    assert.equal(m1.consilium_connections, 2);
    assert.equal(m1.consilium_sessions, 2);

    // A queued request shows up as requested and in the queue gauge.
    const c = okConsult(await clin.request(consultRequest()));
    assert.equal(c.state, 'requested');
    const m2 = await gw.metrics();
    assert.equal(m2['consilium_consults{state="requested"}'], 1);
    assert.equal(m2['consilium_queue_length{tenant="kirov",specialty="cardiology",urgency="emergency"}'], 1);
    const pairedBefore = m2.consilium_pairing_seconds_count;
    const infBefore = m2['consilium_pairing_seconds_bucket{le="+Inf"}'];
    assert.equal(pairedBefore, 0);

    // Becoming available offers it; accepting pairs it.
    await spec.request({ type: 'presence.set', status: 'available' });
    await spec.nextNotice('consult.offered', { consultId: c.id });
    okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
    const m3 = await gw.metrics();
    assert.equal(m3.consilium_pairing_seconds_count, pairedBefore + 1);
    assert.equal(m3['consilium_pairing_seconds_bucket{le="+Inf"}'], infBefore + 1);
    assert.equal(m3['consilium_consults{state="requested"}'], 0);
    assert.equal(m3['consilium_consults{state="accepted"}'], 1);
    assert.equal(m3['consilium_queue_length{tenant="kirov",specialty="cardiology",urgency="emergency"}'] ?? 0, 0);
    // Buckets are cumulative.
    const buckets = Object.entries(m3).filter(([k]) => k.startsWith('consilium_pairing_seconds_bucket')).map(([, v]) => v);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i] >= buckets[i - 1], 'cumulative buckets');

    clin.close();
    spec.close();
    await Promise.all([clin.closed, spec.closed]);
  });

  test('HEAD and POST on /healthz do not crash the gateway', async () => {
    await gw.http('/healthz', { method: 'POST' }).catch(() => {});
    await gw.http('/healthz', { method: 'HEAD' }).catch(() => {});
    const r = await gw.http('/healthz');
    assert.equal(r.status, 200);
    assert.ok(gw.running);
  });
});
