// load.test.js — consilium-load (tests/load/) against the real gateway: a few
// 1:1 consults whose synthetic peers request, accept, join, negotiate and
// exchange real Opus and VP8 media through the SFU with near-zero loss; a
// consult of three (the third invited by code); churn, every replacement
// ready; and a wrong signing secret, which fails every consult with a clear
// reason and leaves the gateway serving. Figures are checked for presence and
// sense (packets flowed, nothing lost, frames decoded), never for speed.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Gateway, cleanup, tempDir } from '../lib/gateway.js';
import { assertMediaFlowed, runLoad } from '../lib/load.js';

describe('consilium-load against the gateway', () => {
  let gw;
  before(async () => {
    gw = await Gateway.start({ set: { 'media.addresses': '127.0.0.1' } });
  });
  after(cleanup);

  test('three 1:1 consults: every one ready, media both ways, near-zero loss', async () => {
    const r = await runLoad(gw, ['--consults', '3', '--participants', '2', '--duration', '4']);
    assert.equal(r.status, 0, r.why);
    const { setup, window: w, config } = r.report;
    assert.equal(r.report.tool, 'consilium-load');
    assert.equal(r.report.target, 'consilium');
    assert.equal(r.report.ok, true);
    assert.equal(config.consults, 3);
    assert.equal(setup.consults, 3);
    assert.equal(setup.ready, 3, r.why);
    assert.equal(setup.failed, 0);
    assert.equal(setup.peers, 6);
    assert.deepEqual(setup.errors, []);
    assert.match(setup.srtp_profile, /^SRTP_/);
    assert.ok(setup.ready_ms.max >= setup.ready_ms.p50);
    assert.equal(w.consults, 3);
    assert.equal(w.participants, 6);
    assert.ok(w.packets_sent > 0);
    assertMediaFlowed(w, r.why);
    // The server's own accounting was read (values are not judged).
    assert.equal(w.server.pid, gw.pid);
    assert.equal(typeof w.server.cpu_seconds, 'number');
    assert.equal(typeof w.server.us_per_packet, 'number');
    assert.equal(typeof w.server.rss_kib_per_participant, 'number');
    assert.equal(typeof w.tool.cpu_seconds, 'number');
    assert.match(r.stdout, /result\s+OK/);
  });

  test('a consult of three: the third invited by code; the consult is ended afterwards', async () => {
    const coord = await gw.connectAs({ role: 'coordinator', tenant: 'load', name: 'Load coordinator', subject: 'load-coord' });
    const r = await runLoad(gw, ['--consults', '1', '--participants', '3', '--duration', '3', '--decode-every', '1']);
    assert.equal(r.status, 0, r.why);
    assert.equal(r.report.setup.ready, 1, r.why);
    assert.equal(r.report.setup.peers, 3);
    assert.equal(r.report.window.participants, 3);
    assertMediaFlowed(r.report.window, r.why);
    // What the gateway recorded: clinician, specialist and a guest patient
    // joined through the protocol, and the specialist ended the consult.
    const ended = await coord.nextNotice('consult.updated', {
      timeout: 5000, where: (m) => m.consult.state === 'ended' && m.consult.participants.length === 3,
    });
    assert.deepEqual(ended.consult.participants.map((p) => p.role), ['clinician', 'specialist', 'patient']);
    assert.ok(ended.consult.participants.every((p) => p.joined_at), 'everyone joined');
    assert.equal(ended.consult.mode, 'realtime');
  });

  test('churn: consults end and start during the window, every replacement ready', async () => {
    const r = await runLoad(gw, ['--consults', '2', '--duration', '4', '--churn', '1']);
    assert.equal(r.status, 0, r.why);
    const { churn, setup } = r.report;
    assert.equal(setup.ready, 2);
    assert.ok(churn.started >= 1, r.why);
    assert.equal(churn.ended, churn.started);
    assert.equal(churn.ready, churn.started, r.why);
    assert.equal(churn.failed, 0);
    assert.ok(r.report.window.packets_received > 0);
    assert.ok(r.report.window.loss_percent < 1, r.why);
  });

  test('a wrong secret: every consult fails with the reason, exit 1, the gateway serves on', async () => {
    const wrong = path.join(tempDir('consilium-load-'), 'wrong-secret');
    fs.writeFileSync(wrong, crypto.randomBytes(32).toString('hex') + '\n');
    const r = await runLoad(gw, ['--consults', '2', '--duration', '2'], { secret: wrong });
    assert.equal(r.status, 1, r.why);
    const { setup } = r.report;
    assert.equal(r.report.ok, false);
    assert.equal(setup.ready, 0);
    assert.equal(setup.failed, 2);
    assert.ok(setup.errors.length >= 1);
    assert.ok(setup.errors.every((e) => /hello refused: unauthenticated/.test(e)), JSON.stringify(setup.errors));
    assert.equal(r.report.window.packets_received, 0);
    assert.match(r.stdout, /result\s+FAILED/);
    // Unaffected: still running, still answering.
    assert.ok(gw.running);
    const h = await gw.http('/healthz');
    assert.equal(h.status, 200);
    const c = await gw.connectAs({ role: 'clinician', tenant: 'load', name: 'After', subject: 'after-wrong-secret' });
    assert.equal(c.welcome.type, 'welcome');
  });

  test('usage errors exit 2 without touching the gateway', async () => {
    const r = await runLoad(gw, ['--participants', '9']);
    assert.equal(r.status, 2, r.why);
    assert.match(r.stderr, /--participants/);
    assert.equal(r.report, null);
  });
});
