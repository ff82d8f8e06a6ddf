// hostile-media.test.js — issue 8's hostile media: live consults of two
// synthetic peers (consilium-load) while an attacker beside each consult's
// first participant sends the gateway's media port random datagrams (from the
// participant's own address and from another port), the participant's SRTP
// replayed, forged SRTP, RTCP with wrong lengths under valid SRTCP, DTLS
// ClientHellos of a certificate no SDP announced, and STUN with wrong
// credentials (and a nomination). The consults must go on, measurably: every
// packet sent is received, frames decode; the gateway counts what it drops,
// answers the stranger nothing but STUN errors, and serves new consults after.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Gateway, cleanup } from '../lib/gateway.js';
import { assertMediaFlowed, runLoad } from '../lib/load.js';

const KINDS = ['random', 'stranger', 'replay', 'forged_srtp', 'bad_rtcp', 'dtls', 'stun'];

const rate = (w) => `${(w.packets_received / w.seconds).toFixed(0)} packets/s received, `
  + `latency p50 ${w.latency_us.p50} µs p99 ${w.latency_us.p99} µs, loss ${w.loss_percent} %, `
  + `${w.frames_decoded} frames decoded`;

describe('hostile datagrams at the media port of live consults', () => {
  let gw;
  let attacked;
  before(async () => {
    gw = await Gateway.start({ set: { 'media.addresses': '127.0.0.1' } });
  });
  after(cleanup);

  test('every kind of attack at 400 datagrams/s a consult: the consults go on, nothing lost', async (t) => {
    const before = await gw.metrics();
    const r = await runLoad(gw, ['--consults', '2', '--participants', '2', '--duration', '5',
      '--decode-every', '1', '--hostile', '400']);
    assert.equal(r.status, 0, r.why);
    const { setup, window: w, hostile: h } = r.report;
    assert.equal(setup.ready, 2, r.why);
    assert.equal(r.report.config.hostile, 400);
    for (const k of KINDS) assert.ok(h.sent[k] > 100, `${k} sent: ${JSON.stringify(h)}`);
    assertMediaFlowed(w, r.why);
    // Two participants: every packet one sends has one receiver.
    assert.ok(w.packets_received >= 0.97 * w.packets_sent, `received ${w.packets_received} of ${w.packets_sent}: ${r.why}`);
    assert.equal(w.lost, 0, `lost after recovery: ${r.why}`);
    // The other port learnt nothing: STUN with a wrong password or username
    // never succeeds, no DTLS handshake gets through, no media goes there.
    assert.ok(h.answers.stun > 0, 'STUN errors answered: the gateway did read them');
    assert.equal(h.answers.stun_success, 0, JSON.stringify(h));
    assert.equal(h.dtls_completed, 0, JSON.stringify(h));
    assert.equal(h.answers.other, 0, `nothing but STUN and DTLS to the stranger: ${JSON.stringify(h)}`);
    // The gateway dropped and counted them.
    const m = await gw.metrics();
    const delta = (name) => (m[name] || 0) - (before[name] || 0);
    assert.ok(delta('consilium_media_dropped_srtp_total') >= h.sent.forged_srtp,
      `forged SRTP fails authentication: ${delta('consilium_media_dropped_srtp_total')} dropped, ${h.sent.forged_srtp} forged`);
    assert.ok(delta('consilium_media_dropped_malformed_total') > 0, 'RTCP with wrong lengths is dropped as malformed');
    t.diagnostic(`under attack: ${rate(w)}; sent ${JSON.stringify(h.sent)}; answers ${JSON.stringify(h.answers)}; `
      + `gateway dropped ${delta('consilium_media_dropped_srtp_total')} SRTP, ${delta('consilium_media_dropped_malformed_total')} malformed`);
    attacked = w;
  });

  test('afterwards the same gateway carries new consults as before', async (t) => {
    const r = await runLoad(gw, ['--consults', '2', '--participants', '2', '--duration', '3', '--decode-every', '1']);
    assert.equal(r.status, 0, r.why);
    assert.equal(r.report.hostile, null);
    assertMediaFlowed(r.report.window, r.why);
    assert.ok(gw.running);
    t.diagnostic(`no attack: ${rate(r.report.window)}${attacked ? `; under attack it was ${rate(attacked)}` : ''}`);
  });
});
