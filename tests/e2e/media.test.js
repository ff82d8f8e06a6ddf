// media.test.js — end-to-end test of video calls: the real gateway binary
// (SFU), the real browser client in web/ in Debian's chromium (fake camera:
// a moving picture; fake microphone: a beep), and coturn for TURN.
//
//   cd tests && node --test e2e/media.test.js      (CONSILIUM_BIN: build/consilium)
//
// The signalling that is not about media (request, accept, invite) is done
// over WebSockets from node; each participant then opens their sign-in link,
// presses Join in the real UI, and the call runs in the page. Media is judged
// from each page's RTCPeerConnection.getStats() (window.consiliumCall.pc):
// inbound audio and video packets growing, video frames decoded growing, audio
// energy above silence.
//
// Cases: (a) two participants see and hear each other; (b) a third joins and
// everyone receives the other two; (c) an ICE restart (new ufrag) keeps media
// flowing; (d) TURN only (?relay=1) through coturn, the selected local
// candidate being a relay one; (e) packet loss injected by the gateway
// (media.test_loss_in/out) is repaired by NACK and video keeps decoding.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Gateway, BIN, cleanup, consultRequest, okConsult } from '../lib/gateway.js';
import { openBrowser, closeBrowsers, pageProblems, WEB_ROOT, SHOTS, CHROMIUM } from './lib/browser.js';
import { startTurn, TURNSERVER } from './lib/turn.js';
import { rtpSnapshot, waitFlowing, until } from './lib/media.js';
import { USERS, PATIENT } from './lib/people.js';

const WAIT = 15000;
const MEDIA_WAIT = 25000;

const started = { turns: [], clients: [] }; // gateways: lib/gateway.js's cleanup() ends them

/** Starts a gateway for media tests (media on loopback only). */
async function startGateway(set = {}) {
  return Gateway.start({ set: { web_root: WEB_ROOT, 'media.addresses': '127.0.0.1', 'media.quality_interval': '1s', ...set }, timeout: 10000 });
}

/**
 * Over WebSockets from node: a realtime emergency consult requested by the
 * clinician and accepted by the specialist; optionally an invitation code for
 * the patient. Returns { id, patient, tokens, invite }.
 */
async function consultFor(gw, { invitePatient = false } = {}) {
  const spec = await gw.connectAs(USERS.specialist);
  const clin = await gw.connectAs(USERS.clinician);
  started.clients.push(spec, clin);
  const c = okConsult(await clin.request(consultRequest({ mode: 'realtime', patient: { id: 'SNILS 112-233-445 95', name: PATIENT, birth_date: '1956-03-02' } })));
  okConsult(await spec.request({ type: 'consult.accept', consult_id: c.id }));
  let invite = null;
  if (invitePatient) {
    const r = await clin.request({ type: 'consult.invite', consult_id: c.id, role: 'patient', name: PATIENT });
    assert.equal(r.type, 'invite', `consult.invite: ${JSON.stringify(r)}`);
    invite = r.code;
  }
  spec.close();
  clin.close();
  return { id: c.id, tokens: { clinician: clin.token, specialist: spec.token }, invite };
}

/** Opens a participant's browser with their link, presses Join in their list, waits for the call. */
async function joinCall(gw, label, { token, invite, query = '', locale = 'en-GB' }) {
  const page = await openBrowser(label, { locale, secrets: [token, invite] });
  const link = token ? `#token=${token}` : `#invite=${invite}`;
  await page.goto(`${gw.httpUrl}/${query}${link}`);
  await page.locator('#hdr-conn[data-state="open"]').waitFor({ timeout: WAIT });
  const join = token
    ? page.getByRole('button', { name: `Join: ${PATIENT}` })
    : page.getByRole('button', { name: 'Join', exact: true });
  await join.first().click({ timeout: WAIT });
  await page.locator('.room-status').getByText('You are in the room.').waitFor({ timeout: WAIT });
  await page.waitForFunction(() => !!window.consiliumCall?.pc, null, { timeout: WAIT });
  return page;
}

/** Sends n junk datagrams to host:port from a fresh socket (bounded, loopback only). */
async function sprayGarbage(host, port, n) {
  assert.ok(host === '127.0.0.1' || host === '::1', `loopback only: ${host}`);
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise((resolve) => sock.bind(0, host, resolve));
  for (let i = 0; i < n; i++) {
    const b = randomBytes(20 + (i % 1200));
    if (i % 3 === 1) b[0] = 0x80;            // looks like RTP
    if (i % 3 === 2) b[0] = 22;              // looks like a DTLS handshake
    await new Promise((resolve) => sock.send(b, port, host, resolve));
  }
  sock.close();
}

/** The number of remote participants whose camera tile shows video. */
const videoTiles = (page) => page.locator('.tile-camera.has-video').count();

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

before(async () => {
  assert.ok(existsSync(BIN), `gateway binary missing: ${BIN} (make build, or set CONSILIUM_BIN)`);
  assert.ok(existsSync(CHROMIUM), `chromium missing: ${CHROMIUM} (apt-get install -y chromium)`);
  await mkdir(SHOTS, { recursive: true });
});

after(async () => {
  for (const c of started.clients) c.terminate();
  await closeBrowsers();
  for (const t of started.turns) await t.stop().catch(() => {});
  await cleanup(); // kills gateways still running, and fails if one had crashed
});

// ---- (a)–(c): one gateway, one consult, up to three participants ----------------------

let room = null; // { gw, consult, pages: {clinician, specialist, patient} }

test('(a) two participants see and hear each other', { timeout: 90000 }, async (t) => {
  const gw = await startGateway();
  const consult = await consultFor(gw, { invitePatient: true });
  const pages = {};
  pages.clinician = await joinCall(gw, 'clinician', { token: consult.tokens.clinician });
  pages.specialist = await joinCall(gw, 'specialist', { token: consult.tokens.specialist });

  await Promise.all(Object.entries(pages).map(([label, page]) =>
    waitFlowing(page, { audio: 1, video: 1, timeout: MEDIA_WAIT, label })));
  // The UI says so too: the other one's tile shows video, the call is connected.
  for (const page of Object.values(pages)) {
    await until(async () => (await videoTiles(page)) === 1, { what: 'one remote video tile' });
    await page.locator('.media-status[data-state="connected"]').waitFor({ timeout: WAIT });
  }
  await pages.clinician.locator('.tile-camera[data-user="ivanova"]').getByText('Dr Elena Ivanova').waitFor();
  await pages.specialist.locator('.tile-camera[data-user="petrova"]').getByText('Фельдшер Анна Петрова').waitFor();
  await shot(pages.clinician, '23-media-clinician');

  // Simulcast: the camera goes out as several rid layers (Chromium sends two or
  // three for 640x360, by its own rules), and each page decodes the other's video.
  const pub = await rtpSnapshot(pages.clinician);
  const layers = pub.outbound.filter((r) => r.kind === 'video' && r.rid && r.packets > 0);
  assert.ok(layers.length >= 2, `simulcast layers sent: ${JSON.stringify(pub.outbound)}`);

  // Call quality reaches /metrics (and the pages: the quality line of a tile).
  await until(async () => {
    const m = await gw.metrics();
    return m.consilium_media_connected === 2 && m.consilium_media_rtp_in_total > 100 &&
      m.consilium_media_keyframe_requests_total >= 1;
  }, { what: 'media counters on /metrics' });
  await until(async () => {
    const text = (await gw.http("/metrics")).body;
    const up = [...text.matchAll(/^consilium_media_kbps\{consult="[^"]+",user="(\w+)",direction="up"\} ([\d.]+)$/gm)];
    return up.length === 2 && up.every((x) => Number(x[2]) > 10);
  }, { what: 'per-participant bitrate on /metrics' });
  await until(async () => (await pages.specialist.locator('.tile-quality').first().textContent() || '').match(/\d/),
    { what: 'a quality line on the remote tile' });

  // Garbage UDP at the gateway's media port (random bytes, RTP- and DTLS-looking
  // junk, from an address that is no ICE candidate) changes nothing: media flows on.
  const pair = (await rtpSnapshot(pages.clinician)).pair;
  assert.ok(pair?.remotePort, `selected pair: ${JSON.stringify(pair)}`);
  await sprayGarbage(pair.remoteAddress, pair.remotePort, 300);
  await Promise.all(Object.entries(pages).map(([label, page]) =>
    waitFlowing(page, { audio: 1, video: 1, timeout: MEDIA_WAIT, label: `${label} after garbage` })));
  room = { gw, consult, pages, three: false };
});

test('(b) a third participant joins; everyone receives the other two', { timeout: 90000 }, async (t) => {
  if (!room) { t.skip('needs (a)'); return; }
  room.pages.patient = await joinCall(room.gw, 'patient', { invite: room.consult.invite });
  await Promise.all(Object.entries(room.pages).map(([label, page]) =>
    waitFlowing(page, { audio: 2, video: 2, timeout: MEDIA_WAIT, label })));
  for (const page of Object.values(room.pages)) {
    await until(async () => (await videoTiles(page)) === 2, { what: 'two remote video tiles' });
  }
  await shot(room.pages.specialist, '24-media-three');
  room.three = true;
});

test('(c) an ICE restart gets new credentials and media keeps flowing', { timeout: 90000 }, async (t) => {
  if (!room?.three) { t.skip('needs (b)'); return; }
  const page = room.pages.specialist;
  const before = await rtpSnapshot(page);
  assert.ok(before?.ufrag, 'a local description with an ICE ufrag');
  await page.evaluate(() => window.consiliumCall.restartIce());
  const after = await until(async () => {
    const s = await rtpSnapshot(page);
    return s && s.ufrag && s.ufrag !== before.ufrag && s.conn === 'connected' ? s : null;
  }, { timeout: WAIT, what: 'a new local ICE ufrag and a connected peer connection' });
  assert.notEqual(after.ufrag, before.ufrag);
  // Counted from now on: media after the restart, both ways.
  await Promise.all(Object.entries(room.pages).map(([label, p]) =>
    waitFlowing(p, { audio: 2, video: 2, timeout: MEDIA_WAIT, label })));
});

test('(a–c) leaving ends the call in the page', { timeout: 30000 }, async (t) => {
  if (!room?.three) { t.skip('needs (b)'); return; }
  const page = room.pages.patient;
  await page.getByRole('button', { name: 'Leave room' }).click();
  await page.waitForFunction(() => window.consiliumCall === undefined, null, { timeout: WAIT });
  // The others stop receiving the patient: their stage goes back to one remote tile.
  for (const p of [room.pages.clinician, room.pages.specialist]) {
    await until(async () => (await p.locator('.tile-camera').count()) === 1, { what: 'the patient’s tile to go' });
  }
  await closeBrowsers();
  await room.gw.stop();
});

// ---- (d) TURN ------------------------------------------------------------------------------

test('(d) relay only, through coturn: media both ways over a relay candidate', { timeout: 90000 }, async (t) => {
  assert.ok(existsSync(TURNSERVER), `coturn missing: ${TURNSERVER} (.ci/install-deps --test)`);
  const turn = await startTurn();
  started.turns.push(turn);
  const gw = await startGateway({ 'turn.urls': turn.url, 'turn.secret': turn.secret, 'turn.ttl': '1h' });
  const consult = await consultFor(gw);

  // welcome carries coturn's REST credentials: "<expiry>:<subject>" and base64(HMAC-SHA1(secret, username)).
  const probe = await gw.connectAs(USERS.clinician);
  started.clients.push(probe);
  const ice = probe.welcome.media?.ice_servers;
  assert.ok(Array.isArray(ice) && ice.length === 1, `welcome.media.ice_servers: ${JSON.stringify(probe.welcome.media)}`);
  const urls = [].concat(ice[0].urls);
  assert.deepEqual(urls, [turn.url]);
  const m = /^(\d+):(.+)$/.exec(ice[0].username);
  assert.ok(m, `username "<expiry>:<subject>": ${ice[0].username}`);
  const left = Number(m[1]) - Date.now() / 1000;
  assert.ok(left > 3000 && left <= 3600 + 5, `expiry within turn.ttl (1 h): ${left} s`);
  const { createHmac } = await import('node:crypto');
  assert.equal(ice[0].credential, createHmac('sha1', turn.secret).update(ice[0].username).digest('base64'));
  probe.close();

  const pages = {
    clinician: await joinCall(gw, 'clinician-relay', { token: consult.tokens.clinician, query: '?relay=1' }),
    specialist: await joinCall(gw, 'specialist-relay', { token: consult.tokens.specialist, query: '?relay=1' }),
  };
  await Promise.all(Object.entries(pages).map(([label, page]) =>
    waitFlowing(page, { audio: 1, video: 1, timeout: MEDIA_WAIT, label })));
  for (const [label, page] of Object.entries(pages)) {
    const s = await rtpSnapshot(page);
    assert.equal(s.pair?.local, 'relay', `${label}: the selected pair's local candidate: ${JSON.stringify(s.pair)}`);
    const config = await page.evaluate(() => window.consiliumCall.pc.getConfiguration().iceTransportPolicy);
    assert.equal(config, 'relay');
  }
  await closeBrowsers();
  await gw.stop();
  await turn.stop();
  started.turns = started.turns.filter((x) => x !== turn);
});

// ---- (e) loss ------------------------------------------------------------------------------

test('(e) 5 % loss each way: NACKs repair it and video keeps decoding', { timeout: 90000 }, async (t) => {
  const gw = await startGateway({ 'media.test_loss_in': '5', 'media.test_loss_out': '5' });
  const consult = await consultFor(gw);
  const pages = {
    clinician: await joinCall(gw, 'clinician-loss', { token: consult.tokens.clinician }),
    specialist: await joinCall(gw, 'specialist-loss', { token: consult.tokens.specialist }),
  };
  await Promise.all(Object.entries(pages).map(([label, page]) =>
    waitFlowing(page, { audio: 1, video: 1, timeout: MEDIA_WAIT, label })));
  // Losses towards a subscriber are noticed and asked for again: a receiving page sends NACKs
  // (inbound-rtp nackCount). Shown on failure: what the senders saw (NACKs, retransmissions).
  let counts = {};
  await until(async () => {
    counts = {};
    for (const [label, page] of Object.entries(pages)) {
      const s = await rtpSnapshot(page);
      const video = (list) => list.filter((r) => r.kind === 'video');
      counts[label] = {
        inboundNack: video(s.inbound).reduce((n, r) => n + r.nack, 0),
        outboundNack: video(s.outbound).reduce((n, r) => n + r.nack, 0),
        retransmitted: video(s.outbound).reduce((n, r) => n + r.rtx, 0),
      };
    }
    return Object.values(counts).some((c) => c.inboundNack > 0) ? counts : null;
  }, { timeout: MEDIA_WAIT, what: () => `a receiving page to send video NACKs (video NACK counts: ${JSON.stringify(counts)})` });
  // … and the picture is not frozen: frames keep being decoded through the loss.
  await Promise.all(Object.entries(pages).map(([label, page]) =>
    waitFlowing(page, { audio: 1, video: 1, timeout: MEDIA_WAIT, minFrames: 30, label })));
  // Both repair loops ran: the gateway answered subscribers' NACKs from its
  // buffer, and asked publishers again for what it lost on the way in.
  await until(async () => {
    const m = await gw.metrics();
    return m.consilium_media_retransmissions_total > 0 && m.consilium_media_nacks_out_total > 0 &&
      m.consilium_media_nacks_in_total > 0 ? m : null;
  }, { what: 'retransmissions and upstream NACKs on /metrics' });
  await closeBrowsers();
  await gw.stop();
});

test('no page errors, and no token in the console', () => {
  assert.deepEqual(pageProblems, []);
});
