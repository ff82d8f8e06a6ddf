// capture.mjs — records real browser SDPs as fixtures for tests/unit/test_sdp.c.
//
// Run by hand (never by `make test`); the .sdp files it writes are committed,
// so the unit tests do not need a browser. From the repository root:
//
//   node tests/unit/sdp/capture.mjs                 # Chromium and, if present, Firefox
//   node tests/unit/sdp/capture.mjs chromium        # one browser only
//   PUPPETEER_CORE=/tmp/x/node_modules/puppeteer-core node tests/unit/sdp/capture.mjs firefox
//
// Chromium is Debian's /usr/bin/chromium driven by playwright-core (installed in
// tests/node_modules). Firefox is Debian's firefox-esr driven by puppeteer-core
// over WebDriver BiDi; puppeteer-core is not a project dependency, so it is
// resolved from tests/node_modules or from the PUPPETEER_CORE path.
//
// Each browser, on an about:blank page (fake devices where the page may use
// them, else canvas and Web Audio tracks), records:
//   <b>-offer-av.sdp          audio + video sendrecv (after ICE gathering)
//   <b>-offer-av-data.sdp     the same plus a data channel
//   <b>-offer-simulcast.sdp   audio + VP8-first video with three rids q/h/f
//   <b>-offer-before-restart.sdp, then
//   <b>-offer-ice-restart.sdp the same connection's re-offer with iceRestart
//                             after a full negotiation with a second local peer
//   <b>-offer-recvonly.sdp    audio + video recvonly transceivers
//   <b>-answer-sfu.sdp        the browser's answer to sfu-offer.sdp (below)
// and sfu-offer.sdp itself (hand-written: what the gateway will offer).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const FIREFOX = process.env.FIREFOX_BIN || '/usr/bin/firefox-esr';
const CHROME_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];
const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
};

// A typical offer from the gateway to a subscriber: BUNDLE, rtcp-mux, actpass,
// Opus, VP8 and H.264 with RTX, the forwarded streams' ssrc lines, one host
// candidate. The fingerprint is a made-up but well-formed SHA-256.
const SFU_OFFER = [
  'v=0',
  'o=- 7263741048302245000 2 IN IP4 0.0.0.0',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=msid-semantic: WMS *',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:Cs7q',
  'a=ice-pwd:o2YtmR4s9Vw1fQpXk3LbZn8e',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3D:AF:FC:02:A5:7A:42:4B:71:D7:26:6E',
  'a=setup:actpass',
  'a=mid:0',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=sendrecv',
  'a=msid:cs-peer-2 cs-audio-2',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=ssrc:1001 cname:consilium',
  'a=ssrc:1001 msid:cs-peer-2 cs-audio-2',
  'a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host',
  'a=end-of-candidates',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:Cs7q',
  'a=ice-pwd:o2YtmR4s9Vw1fQpXk3LbZn8e',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3D:AF:FC:02:A5:7A:42:4B:71:D7:26:6E',
  'a=setup:actpass',
  'a=mid:1',
  'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=sendrecv',
  'a=msid:cs-peer-2 cs-video-2',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 goog-remb',
  'a=rtcp-fb:96 transport-cc',
  'a=rtcp-fb:96 ccm fir',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000',
  'a=rtcp-fb:102 goog-remb',
  'a=rtcp-fb:102 transport-cc',
  'a=rtcp-fb:102 ccm fir',
  'a=rtcp-fb:102 nack',
  'a=rtcp-fb:102 nack pli',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:103 rtx/90000',
  'a=fmtp:103 apt=102',
  'a=ssrc-group:FID 2001 2002',
  'a=ssrc:2001 cname:consilium',
  'a=ssrc:2001 msid:cs-peer-2 cs-video-2',
  'a=ssrc:2002 cname:consilium',
  'a=ssrc:2002 msid:cs-peer-2 cs-video-2',
  'a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host',
  'a=end-of-candidates',
  '',
].join('\r\n');

// Runs inside the page: returns { name: sdp } for every capture.
async function captureInPage(sfuOffer) {
  // After an ICE restart the state is still 'complete' from the last round
  // until the new gathering starts, so a restart waits for the next change.
  const gathered = (pc, restart = false) => new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete' && !restart) return resolve();
    const t = setTimeout(resolve, 4000);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
    });
  });
  const offer = async (pc, opts) => {
    const done = gathered(pc, opts?.iceRestart);
    await pc.setLocalDescription(await pc.createOffer(opts));
    await done;
    return pc.localDescription.sdp;
  };
  // about:blank is not a secure context in Chromium, so navigator.mediaDevices
  // may be missing there: then the tracks come from a canvas and Web Audio,
  // which give the same SDP (the codecs come from the peer connection).
  const media = async () => {
    if (navigator.mediaDevices?.getUserMedia) {
      return navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    }
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 480;
    canvas.getContext('2d').fillRect(0, 0, 640, 480);
    const video = canvas.captureStream(30).getVideoTracks()[0];
    const ac = new AudioContext();
    const osc = ac.createOscillator();
    const dst = ac.createMediaStreamDestination();
    osc.connect(dst);
    osc.start();
    return new MediaStream([dst.stream.getAudioTracks()[0], video]);
  };
  const out = {};

  let s = await media();
  let pc = new RTCPeerConnection();
  s.getTracks().forEach((t) => pc.addTrack(t, s));
  out['offer-av'] = await offer(pc);
  pc.close();

  pc = new RTCPeerConnection();
  s.getTracks().forEach((t) => pc.addTrack(t, s));
  pc.createDataChannel('chat');
  out['offer-av-data'] = await offer(pc);
  pc.close();

  pc = new RTCPeerConnection();
  pc.addTrack(s.getAudioTracks()[0], s);
  const tr = pc.addTransceiver(s.getVideoTracks()[0], {
    direction: 'sendrecv', streams: [s],
    sendEncodings: [
      { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150000 },
      { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500000 },
      { rid: 'f', maxBitrate: 1500000 },
    ],
  });
  // VP8 (and its RTX) first, the rest after, so VP8 is the preferred codec.
  if (tr.setCodecPreferences && RTCRtpReceiver.getCapabilities) {
    const codecs = RTCRtpReceiver.getCapabilities('video').codecs;
    const vp8 = codecs.filter((c) => /vp8/i.test(c.mimeType));
    tr.setCodecPreferences([...vp8, ...codecs.filter((c) => !/vp8/i.test(c.mimeType))]);
  }
  out['offer-simulcast'] = await offer(pc);
  pc.close();

  // ICE restart: negotiate fully with a second local peer, then re-offer.
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  s.getTracks().forEach((t) => a.addTrack(t, s));
  out['offer-before-restart'] = await offer(a);
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  out['offer-ice-restart'] = await offer(a, { iceRestart: true });
  a.close();
  b.close();

  pc = new RTCPeerConnection();
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  out['offer-recvonly'] = await offer(pc);
  pc.close();

  pc = new RTCPeerConnection();
  await pc.setRemoteDescription({ type: 'offer', sdp: sfuOffer });
  s.getTracks().forEach((t) => pc.addTrack(t, s));
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  out['answer-sfu'] = pc.localDescription.sdp;
  pc.close();

  s.getTracks().forEach((t) => t.stop());
  return out;
}

async function save(prefix, sdps, version) {
  for (const [name, sdp] of Object.entries(sdps)) {
    const file = path.join(here, `${prefix}-${name}.sdp`);
    await writeFile(file, sdp);
    console.log(`${prefix} ${version}: ${path.basename(file)} (${sdp.length} bytes)`);
  }
}

async function captureChromium() {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(path.join(tmpdir(), 'consilium-sdp-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROME_ARGS,
  });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    await page.goto('about:blank');
    const sdps = await page.evaluate(captureInPage, SFU_OFFER);
    await save('chromium', sdps, ctx.browser()?.version() ?? '');
  } finally {
    await ctx.close();
    await rm(profile, { recursive: true, force: true });
  }
}

async function loadPuppeteer() {
  if (process.env.PUPPETEER_CORE) {
    const p = path.resolve(process.env.PUPPETEER_CORE);
    const req = createRequire(path.join(p, 'package.json'));
    return import(pathToFileURL(req.resolve(p)).href);
  }
  return import('puppeteer-core');
}

async function captureFirefox() {
  const puppeteer = (await loadPuppeteer()).default;
  const profile = await mkdtemp(path.join(tmpdir(), 'consilium-sdp-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath: FIREFOX, headless: true, userDataDir: profile,
    extraPrefsFirefox: FIREFOX_PREFS,
  });
  try {
    const page = await browser.newPage();
    await page.goto('about:blank');
    const sdps = await page.evaluate(captureInPage, SFU_OFFER);
    await save('firefox', sdps, await browser.version());
  } finally {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  }
}

const which = process.argv[2] || 'all';
await writeFile(path.join(here, 'sfu-offer.sdp'), SFU_OFFER);
if (which === 'all' || which === 'chromium') await captureChromium();
if (which === 'all' || which === 'firefox') {
  try {
    await captureFirefox();
  } catch (e) {
    console.error(`firefox: not captured (${e.message}); keep the hand-written firefox-*.sdp`);
    if (which === 'firefox') process.exitCode = 1;
  }
}
