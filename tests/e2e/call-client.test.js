// call-client.test.js — the browser client's media logic (web/js/call.js) in
// chromium against a stand-in for the gateway that lives in the same page: a
// second RTCPeerConnection that answers media.offer like the gateway would
// (PROTOCOL.md "Media"), publishes its own fake camera and microphone as one
// remote participant, and trickles its candidates as media.candidate notices.
// Needs no gateway, so it checks the client's side of the contract even where
// the gateway has no media yet: the offer (sources, simulcast, receiving
// sections), trickle both ways (with the gateway's candidates arriving before
// the answer), media.tracks → more receiving sections, coalesced
// negotiations, ICE restart, a refused offer, media.leave.
//
//   cd tests && node --test e2e/call-client.test.js

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { openBrowser, closeBrowsers, pageProblems, WEB_ROOT } from './lib/browser.js';

let server;
let page;

const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.css': 'text/css' };

before(async () => {
  // The client's modules from web/, and an empty page to load them into.
  server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/') { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>call.js</title>'); return; }
    const file = path.join(WEB_ROOT, path.normalize(url.pathname).replace(/^(\.\.[/\\])+/, ''));
    try {
      const body = await readFile(file);
      res.setHeader('content-type', TYPES[path.extname(file)] || 'application/octet-stream');
      res.end(body);
    } catch { res.statusCode = 404; res.end(); }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  page = await openBrowser('call-client');
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  // The stand-in gateway, and a call wired to it (window.t: the test's handle).
  await page.evaluate(async () => {
    const { MediaCall } = await import('/js/call.js');
    const CONSULT = '9b2c1f7e-3d0a-4c55-8e0b-0f3a6f1d2c44';
    const gwStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 180 } });
    const state = { requests: [], offers: [], refuse: null, published: [], delayAnswerMs: 0 };
    const gw = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    let call = null;
    gw.onicecandidate = (e) => call?.onNotice({ type: 'media.candidate', consult_id: CONSULT, candidate: e.candidate ? e.candidate.candidate : '' });
    const mids = (sdp, dir) => sdp.split(/\r\n(?=m=)/).slice(1)
      .filter((m) => new RegExp(`a=${dir}`).test(m)).map((m) => ({ mid: /a=mid:(\S+)/.exec(m)[1], kind: /^m=(\w+)/.exec(m)[1] }));
    const PUBLISHED = [
      { track_id: 'a1', user: 'ivanova', name: 'Dr Elena Ivanova', kind: 'audio', source: 'microphone', track: gwStream.getAudioTracks()[0] },
      { track_id: 'v1', user: 'ivanova', name: 'Dr Elena Ivanova', kind: 'video', source: 'camera', track: gwStream.getVideoTracks()[0] },
    ];
    async function request(type, fields) {
      state.requests.push({ type, ...fields });
      if (type === 'media.offer') {
        state.offers.push(fields);
        if (state.refuse) { const code = state.refuse; state.refuse = null; throw Object.assign(new Error(code), { code }); }
        await gw.setRemoteDescription({ type: 'offer', sdp: fields.sdp });
        const tracks = [];
        const free = [...PUBLISHED];
        for (const { mid, kind } of mids(fields.sdp, 'recvonly')) {
          const tx = gw.getTransceivers().find((x) => x.mid === mid);
          const p = free.find((x) => x.kind === kind);
          if (p) {
            free.splice(free.indexOf(p), 1);
            tx.direction = 'sendonly';
            await tx.sender.replaceTrack(p.track);
            const { track, ...info } = p;
            tracks.push({ mid, ...info });
          } else {
            tx.direction = 'inactive';
          }
        }
        await gw.setLocalDescription(await gw.createAnswer());
        // Like the gateway may: its candidates (trickled by onicecandidate) go out before the answer.
        await new Promise((r) => setTimeout(r, state.delayAnswerMs));
        return { type: 'media.answer', consult_id: fields.consult_id, sdp: gw.localDescription.sdp.replace(/^a=candidate.*\r\n/gm, ''), tracks };
      }
      if (type === 'media.candidate') {
        if (fields.candidate) await gw.addIceCandidate({ candidate: fields.candidate, sdpMid: '0', sdpMLineIndex: 0 });
        return { type: 'ok' };
      }
      return { type: 'ok' };
    }
    const newCall = (peers = 1) => {
      call = new MediaCall({ consultId: CONSULT, request, isOpen: () => true,
        config: () => ({ ice_servers: [], max_participants: 8 }), freshConfig: async () => null, expectedPeers: () => peers });
      window.t.call = call;
      return call;
    };
    const inbound = async () => {
      const out = [];
      (await call.pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') out.push({ kind: r.kind, mid: r.mid, packets: r.packetsReceived }); });
      return out;
    };
    window.t = { CONSULT, state, gw, newCall, inbound, PUBLISHED };
  });
});

after(async () => {
  await closeBrowsers();
  await new Promise((resolve) => server?.close(resolve) ?? resolve());
});

test('the first offer: sources by mid, simulcast camera, receiving sections; media flows both ways', { timeout: 60000 }, async () => {
  const r = await page.evaluate(async () => {
    const { newCall, state, inbound } = window.t;
    const call = newCall(1);
    await call.start();
    const offer = state.offers[0];
    const end = Date.now() + 15000;
    let flowing = [];
    while (Date.now() < end) {
      flowing = (await inbound()).filter((x) => x.packets > 20);
      if (flowing.length >= 2 && window.t.gw.connectionState === 'connected') break;
      await new Promise((res) => setTimeout(res, 200));
    }
    const people = call.remoteParticipants();
    return {
      sources: offer.sources,
      simulcast: /a=simulcast:send l;m;h/.test(offer.sdp),
      rids: (offer.sdp.match(/^a=rid:\w+ send/gm) || []).length,
      recvonly: (offer.sdp.match(/^a=recvonly/gm) || []).length,
      bundle: /^a=group:BUNDLE 0 1 2 3/m.test(offer.sdp),
      candidatesSent: state.requests.filter((q) => q.type === 'media.candidate').length,
      endOfCandidates: state.requests.some((q) => q.type === 'media.candidate' && q.candidate === ''),
      flowing, status: call.status, exposed: window.consiliumCall?.pc === call.pc,
      people: people.map((p) => ({ user: p.user, camera: !!p.camera, audio: p.audio.length })),
    };
  });
  assert.deepEqual(r.sources, { 0: 'microphone', 1: 'camera' });
  assert.ok(r.simulcast && r.rids === 3, 'the camera offers three simulcast layers l/m/h');
  assert.equal(r.recvonly, 2, 'one audio and one video receiving section for the one participant present');
  assert.ok(r.bundle, 'everything bundled');
  assert.ok(r.candidatesSent >= 1 && r.endOfCandidates, 'candidates trickled, then ""');
  assert.equal(r.flowing.length, 2, `audio and video received: ${JSON.stringify(r.flowing)}`);
  assert.equal(r.status, 'connected');
  assert.ok(r.exposed, 'window.consiliumCall.pc is the call\'s peer connection');
  assert.deepEqual(r.people, [{ user: 'ivanova', camera: true, audio: 1 }]);
});

test('media.tracks asks for more receiving sections; requests are coalesced, one offer at a time', { timeout: 30000 }, async () => {
  const r = await page.evaluate(async () => {
    const { state, CONSULT, PUBLISHED } = window.t;
    const call = window.t.call;
    const before = state.offers.length;
    const tracks = PUBLISHED.map(({ track, ...p }) => p);
    const more = [...tracks,
      { track_id: 'a2', user: 'petrova', name: 'Anna Petrova', kind: 'audio', source: 'microphone' },
      { track_id: 'v2', user: 'petrova', name: 'Anna Petrova', kind: 'video', source: 'camera' },
      { track_id: 'v3', user: 'petrova', name: 'Anna Petrova', kind: 'video', source: 'screen' }];
    state.delayAnswerMs = 300;
    call.onNotice({ type: 'media.tracks', consult_id: CONSULT, tracks: more });
    for (let i = 0; i < 5; i++) call.negotiate();
    await call.negotiate();
    state.delayAnswerMs = 0;
    const txs = call.pc.getTransceivers();
    return {
      offers: state.offers.length - before,
      recvAudio: txs.filter((x) => x.direction === 'recvonly' && x.receiver.track.kind === 'audio').length,
      recvVideo: txs.filter((x) => x.direction === 'recvonly' && x.receiver.track.kind === 'video').length,
      signaling: call.pc.signalingState,
      lastOfferRecvonly: (state.offers.at(-1).sdp.match(/^a=recvonly/gm) || []).length,
    };
  });
  assert.equal(r.recvAudio, 2);
  assert.equal(r.recvVideo, 3);
  assert.equal(r.lastOfferRecvonly, 5);
  assert.ok(r.offers >= 1 && r.offers <= 2, `six negotiation requests made ${r.offers} offer(s)`);
  assert.equal(r.signaling, 'stable');
});

test('ICE restart: a new ufrag, and the connection comes back', { timeout: 30000 }, async () => {
  const r = await page.evaluate(async () => {
    const call = window.t.call;
    const ufrag = () => /^a=ice-ufrag:(\S+)/m.exec(call.pc.localDescription.sdp)[1];
    const before = ufrag();
    await window.consiliumCall.restartIce();
    const after = ufrag();
    const end = Date.now() + 15000;
    while (Date.now() < end && call.pc.iceConnectionState !== 'connected' && call.pc.iceConnectionState !== 'completed') {
      await new Promise((res) => setTimeout(res, 200));
    }
    const p1 = (await window.t.inbound()).reduce((n, x) => n + x.packets, 0);
    await new Promise((res) => setTimeout(res, 1500));
    const p2 = (await window.t.inbound()).reduce((n, x) => n + x.packets, 0);
    return { before, after, ice: call.pc.iceConnectionState, growing: p2 > p1 };
  });
  assert.notEqual(r.after, r.before);
  assert.ok(r.ice === 'connected' || r.ice === 'completed', r.ice);
  assert.ok(r.growing, 'packets still arrive after the restart');
});

test('a refused offer ("limit") stops the call and says why; stop() sends media.leave', { timeout: 30000 }, async () => {
  const r = await page.evaluate(async () => {
    const { state, newCall } = window.t;
    window.t.call.stop({ leave: true });
    const left = state.requests.at(-1);
    const afterStop = window.consiliumCall;
    // A fresh gateway side for the next session.
    window.t.gw.close();
    state.refuse = 'limit';
    const call = newCall(1);
    await call.start();
    return { left, afterStop: afterStop === undefined, status: call.status, error: call.error, pc: call.pc, exposed: window.consiliumCall };
  });
  assert.deepEqual({ type: r.left.type, consult_id: r.left.consult_id }, { type: 'media.leave', consult_id: '9b2c1f7e-3d0a-4c55-8e0b-0f3a6f1d2c44' });
  assert.ok(r.afterStop, 'window.consiliumCall is undefined after the call');
  assert.equal(r.status, 'failed');
  assert.deepEqual(r.error, { code: 'limit' });
  assert.equal(r.pc, null);
  assert.equal(r.exposed, undefined);
});

test('no page errors', () => {
  assert.deepEqual(pageProblems, []);
});
