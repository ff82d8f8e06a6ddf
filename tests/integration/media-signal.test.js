// media-signal.test.js — the media messages of the signalling protocol against
// the real gateway, without a browser: a captured Chromium offer is answered
// (DTLS fingerprint, ICE credentials, passive setup), the gateway trickles its
// loopback candidates, tracks are announced to the other participant, TURN
// credentials follow coturn's REST scheme, and bad media input gets clear
// errors while everything else keeps working. Browsers exchanging real audio
// and video are tests/e2e/media.test.js.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { Gateway, cleanup, consultRequest, okConsult, runCli, tempDir } from '../lib/gateway.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const OFFER = readFileSync(path.join(here, '../unit/sdp/chromium-offer-av.sdp'), 'utf8');
const DATA_ONLY = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  'a=fingerprint:sha-256 34:78:C5:F3:67:C5:99:D4:92:79:50:47:1C:8C:17:8D:68:EC:D0:97:57:DF:1B:03:E0:17:89:06:3A:F5:02:8C',
  'a=setup:actpass', 'a=mid:0', 'a=sctp-port:5000', ''].join('\r\n');

const SECRET = 'turn-shared-secret-for-tests';
const CLIN = { role: 'clinician', tenant: 'kirov', name: 'Фельдшер Анна Петрова', subject: 'med-clin' };
const SPEC = { role: 'specialist', tenant: 'kirov', name: 'Dr Media', subject: 'med-spec', specialties: ['cardiology'] };

describe('media signalling', () => {
  let gw, clin, spec, consult, welcome;
  before(async () => {
    gw = await Gateway.start({
      set: {
        'media.addresses': '127.0.0.1',
        'media.workers': '2',
        'turn.urls': 'turn:127.0.0.1:3478?transport=udp, stun:127.0.0.1:3478',
        'turn.secret': SECRET,
        'turn.ttl': '1h',
      },
    });
    clin = await gw.connect();
    welcome = await clin.request({ type: 'hello', token: gw.token(CLIN) });
    spec = await gw.connectAs(SPEC);
    await spec.request({ type: 'presence.set', status: 'available' });
    consult = okConsult(await clin.request(consultRequest()));
    okConsult(await spec.request({ type: 'consult.accept', consult_id: consult.id }));
  });
  after(cleanup);

  test('welcome carries TURN credentials in coturn\'s REST scheme', () => {
    const media = welcome.media;
    assert.equal(media.max_participants, 8);
    assert.equal(media.ice_servers.length, 1);
    const s = media.ice_servers[0];
    assert.deepEqual(s.urls, ['turn:127.0.0.1:3478?transport=udp', 'stun:127.0.0.1:3478']);
    const [expiry, subject] = s.username.split(':');
    assert.equal(subject, 'med-clin');
    const ttl = Number(expiry) - Date.now() / 1000;
    assert.ok(ttl > 3500 && ttl <= 3601, `expiry ${ttl} s from now`);
    const expected = crypto.createHmac('sha1', SECRET).update(s.username).digest('base64');
    assert.equal(s.credential, expected);
  });

  test('media.offer before joining the room is refused', async () => {
    const r = await clin.request({ type: 'media.offer', consult_id: consult.id, sdp: OFFER });
    assert.equal(r.type, 'error');
    assert.equal(r.code, 'wrong_state');
    assert.match(r.message, /join/);
  });

  test('malformed and unusable offers are invalid sdp; the session goes on', async () => {
    okConsult(await clin.request({ type: 'consult.join', consult_id: consult.id }));
    let r = await clin.request({ type: 'media.offer', consult_id: consult.id, sdp: 'v=0\r\nthis is not sdp\r\n' });
    assert.equal(r.type, 'error', JSON.stringify(r));
    assert.equal(r.code, 'invalid');
    assert.equal(r.field, 'sdp');
    r = await clin.request({ type: 'media.offer', consult_id: consult.id, sdp: DATA_ONLY });
    assert.equal(r.code, 'invalid', JSON.stringify(r));
    assert.match(r.message, /audio or video/);
    r = await clin.request({ type: 'media.offer', consult_id: consult.id, sdp: OFFER, sources: { 0: 'loudspeaker' } });
    assert.equal(r.code, 'invalid');
    assert.equal(r.field, 'sources');
    r = await clin.request({ type: 'media.candidate', consult_id: consult.id, candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' });
    assert.equal(r.code, 'wrong_state', 'no media session yet');
    assert.equal((await clin.request({ type: 'ping' })).type, 'pong');
  });

  test('an offer is answered and the gateway trickles its loopback candidates', async () => {
    const r = await clin.request({ type: 'media.offer', consult_id: consult.id, sdp: OFFER, sources: { 0: 'microphone', 1: 'camera' } });
    assert.equal(r.type, 'media.answer', JSON.stringify(r));
    assert.equal(r.consult_id, consult.id);
    assert.match(r.sdp, /^v=0\r\n/);
    assert.match(r.sdp, /a=setup:passive\r\n/);
    assert.match(r.sdp, /a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\r\n/);
    assert.match(r.sdp, /a=ice-ufrag:\S+\r\n/);
    assert.match(r.sdp, /a=group:BUNDLE 0 1\r\n/);
    assert.match(r.sdp, /a=rtpmap:111 opus\/48000\/2/);
    assert.ok(Array.isArray(r.tracks));

    const cands = [];
    for (;;) {
      const c = await clin.nextNotice('media.candidate', { consultId: consult.id });
      if (c.candidate === '') break;
      cands.push(c.candidate);
    }
    assert.ok(cands.length >= 1);
    for (const c of cands) assert.match(c, /^candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/i);

    // Trickled browser candidates: well-formed ones are taken, tcp ignored,
    // garbage refused with a field.
    let ok = await clin.request({ type: 'media.candidate', consult_id: consult.id, candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0' });
    assert.equal(ok.type, 'ok', JSON.stringify(ok));
    ok = await clin.request({ type: 'media.candidate', consult_id: consult.id, candidate: 'candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active' });
    assert.equal(ok.type, 'ok');
    const bad = await clin.request({ type: 'media.candidate', consult_id: consult.id, candidate: 'candidate:garbage' });
    assert.equal(bad.code, 'invalid');
    assert.equal(bad.field, 'candidate');
    ok = await clin.request({ type: 'media.candidate', consult_id: consult.id, candidate: '' });
    assert.equal(ok.type, 'ok');
  });

  test('a second participant\'s tracks are announced to the first', async () => {
    okConsult(await spec.request({ type: 'consult.join', consult_id: consult.id }));
    const r = await spec.request({ type: 'media.offer', consult_id: consult.id, sdp: OFFER });
    assert.equal(r.type, 'media.answer', JSON.stringify(r));
    const t = await clin.nextNotice('media.tracks', { consultId: consult.id, where: (m) => m.tracks.length > 0 });
    const kinds = t.tracks.map((x) => `${x.user}/${x.kind}/${x.source}`).sort();
    assert.deepEqual(kinds, ['med-spec/audio/microphone', 'med-spec/video/camera']);
    for (const x of t.tracks) {
      assert.equal(x.name, 'Dr Media');
      assert.ok(x.track_id);
    }
    // And the specialist is told of the clinician's.
    const t2 = await spec.nextNotice('media.tracks', { consultId: consult.id, where: (m) => m.tracks.length > 0 });
    assert.ok(t2.tracks.every((x) => x.user === 'med-clin'));
    const m = await gw.metrics();
    assert.equal(m.consilium_media_sessions, 2);
    assert.equal(m.consilium_media_rooms, 1);
  });

  test('media.leave ends the session; leaving the room ends the other', async () => {
    const r = await clin.request({ type: 'media.leave', consult_id: consult.id });
    assert.equal(r.type, 'ok');
    const c = await clin.request({ type: 'media.candidate', consult_id: consult.id, candidate: '' });
    assert.equal(c.code, 'wrong_state');
    // The specialist sees the clinician's tracks go.
    await spec.nextNotice('media.tracks', { consultId: consult.id, where: (m) => m.tracks.length === 0 });
    okConsult(await spec.request({ type: 'consult.leave', consult_id: consult.id }));
    const c2 = await spec.request({ type: 'media.candidate', consult_id: consult.id, candidate: '' });
    assert.equal(c2.code, 'wrong_state');
    const m = await gw.metrics();
    assert.equal(m.consilium_media_sessions, 0);
  });

  test('media in a deferred consult is wrong_state', async () => {
    const d = okConsult(await clin.request(consultRequest({ mode: 'deferred', urgency: 'planned' })));
    okConsult(await spec.request({ type: 'consult.accept', consult_id: d.id }));
    okConsult(await clin.request({ type: 'consult.join', consult_id: d.id }));
    const r = await clin.request({ type: 'media.offer', consult_id: d.id, sdp: OFFER });
    assert.equal(r.code, 'wrong_state');
  });
});

describe('media without TURN', () => {
  after(cleanup);
  test('welcome.media.ice_servers is empty', async () => {
    const gw = await Gateway.start({ set: { 'media.addresses': '127.0.0.1' } });
    const c = await gw.connect();
    const w = await c.request({ type: 'hello', token: gw.token(CLIN) });
    assert.deepEqual(w.media, { ice_servers: [], max_participants: 8 });
  });
  test('a TURN url without a secret is a configuration error', () => {
    const r = runCli(['run', '--data-dir', tempDir(), '--port', '0', '--set', 'turn.urls=turn:127.0.0.1:3478']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /turn\.secret/);
  });
});
