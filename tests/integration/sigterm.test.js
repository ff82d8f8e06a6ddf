// sigterm.test.js — a clean stop: PROTOCOL.md close code 1001 "server
// shutting down" for every connection, then exit code 0.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { Gateway, cleanup } from '../lib/gateway.js';

describe('SIGTERM', () => {
  after(cleanup);

  test('the process exits 0 and its clients are disconnected', async () => {
    const gw = await Gateway.start();
    const authed = await gw.connectAs({ role: 'clinician', tenant: 'kirov', name: 'Sigterm Clinician' });
    const pending = await gw.connect();
    const [exit] = await Promise.all([gw.stop(), authed.closed, pending.closed]);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(gw.stderr, /shutting down/);
  });

  test('clients get close 1001 "server shutting down" (authenticated and not)', async () => {
    const gw = await Gateway.start();
    const spec = await gw.connectAs({ role: 'specialist', tenant: 'kirov', name: 'Sigterm Specialist', specialties: ['cardiology'] });
    const clin = await gw.connectAs({ role: 'clinician', tenant: 'kirov', name: 'Sigterm Clinician' });
    const pending = await gw.connect();
    const [exit, c1, c2, c3] = await Promise.all([gw.stop(), spec.closed, clin.closed, pending.closed]);
    assert.equal(exit.code, 0);
    for (const c of [c1, c2, c3]) assert.deepEqual(c, { code: 1001, reason: 'server shutting down' });
  });

  test('SIGINT stops it cleanly too', async () => {
    const gw = await Gateway.start();
    const c = await gw.connectAs({ role: 'clinician', tenant: 'kirov', name: 'Sigint Clinician' });
    gw.expectExit = true;
    gw.proc.kill('SIGINT');
    const [exit] = await Promise.all([gw.exited, c.closed]);
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});
