// lib/media.js — reading a call's RTP from the page: a snapshot of
// window.consiliumCall.pc.getStats() (inbound and outbound RTP, the selected
// candidate pair, the local ICE ufrag), and waiting, with a deadline, until
// the media the test expects is flowing: packets and decoded frames growing,
// audio energy above silence. Success is read from the browser's own
// statistics, never from what the page says. Works with a playwright page
// (Chromium) and a puppeteer page (Firefox) alike: only page.evaluate is used,
// and Firefox's inbound-rtp has packetsReceived, framesDecoded and
// totalAudioEnergy too (Firefox's fake microphone is a tone).

/** One snapshot of the page's call (null when there is no call). */
export function rtpSnapshot(page) {
  return page.evaluate(async () => {
    const call = window.consiliumCall;
    const pc = call?.pc;
    if (!pc) return null;
    const report = await pc.getStats();
    const byId = new Map();
    report.forEach((r) => byId.set(r.id, r));
    const inbound = [];
    const outbound = [];
    let pair = null;
    report.forEach((r) => {
      if (r.type === 'inbound-rtp') {
        inbound.push({ id: r.id, kind: r.kind, mid: r.mid ?? null, ssrc: r.ssrc, packets: r.packetsReceived || 0,
          lost: r.packetsLost || 0, frames: r.framesDecoded || 0, energy: r.totalAudioEnergy || 0,
          level: r.audioLevel || 0, nack: r.nackCount || 0, width: r.frameWidth || 0 });
      } else if (r.type === 'outbound-rtp') {
        outbound.push({ id: r.id, kind: r.kind, rid: r.rid ?? null, packets: r.packetsSent || 0,
          nack: r.nackCount || 0, rtx: r.retransmittedPacketsSent || 0, active: r.active !== false });
      } else if (r.type === 'transport' && r.selectedCandidatePairId && !pair) {
        const p = byId.get(r.selectedCandidatePairId);
        const local = p && byId.get(p.localCandidateId);
        const remote = p && byId.get(p.remoteCandidateId);
        pair = p ? { state: p.state, local: local?.candidateType, localAddress: local?.address, relayProtocol: local?.relayProtocol ?? null,
          remote: remote?.candidateType, remoteAddress: remote?.address, remotePort: remote?.port } : null;
      }
    });
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(pc.localDescription?.sdp || '')?.[1] || null;
    return { at: Date.now(), debug: call.debug?.() ?? null, ice: pc.iceConnectionState, conn: pc.connectionState, ufrag, pair, inbound, outbound,
      status: document.querySelector('.media-status')?.dataset.state || null,
      statusText: document.querySelector('.media-status')?.textContent || '',
      notices: document.querySelector('.media-notices')?.textContent || '' };
  });
}

function short(s) {
  if (!s) return 'no call (window.consiliumCall undefined)';
  return JSON.stringify({ ice: s.ice, conn: s.conn, status: s.status, statusText: s.statusText, notices: s.notices,
    pair: s.pair, inbound: s.inbound.map(({ kind, mid, packets, frames, energy, nack }) => ({ kind, mid, packets, frames, energy: +energy.toFixed(4), nack })),
    call: s.debug });
}

/**
 * Waits until at least `audio` remote audio streams and `video` remote video
 * streams are flowing in the page's call, counting only what arrives after the
 * call: audio = packets +minPackets and totalAudioEnergy growing; video =
 * packets +minPackets and framesDecoded +minFrames. Resolves with
 * {first, last}; rejects after timeout with the last snapshot.
 */
export async function waitFlowing(page, { audio = 1, video = 1, timeout = 20000, minPackets = 25, minFrames = 10, label = 'page', interval = 400 } = {}) {
  const end = Date.now() + timeout;
  let first = null;
  let last = null;
  for (;;) {
    last = await rtpSnapshot(page).catch((e) => ({ error: e.message }));
    if (last && !last.error) {
      if (!first) first = last;
      const base = new Map(first.inbound.map((r) => [r.id, r]));
      const grown = (r, key) => r[key] - (base.get(r.id)?.[key] ?? 0);
      const a = last.inbound.filter((r) => r.kind === 'audio' && grown(r, 'packets') >= minPackets && grown(r, 'energy') > 0).length;
      const v = last.inbound.filter((r) => r.kind === 'video' && grown(r, 'packets') >= minPackets && grown(r, 'frames') >= minFrames).length;
      if (a >= audio && v >= video) return { first, last, audio: a, video: v };
    }
    if (Date.now() > end) {
      throw new Error(`${label}: expected ${audio} audio and ${video} video streams flowing within ${timeout} ms; last: ${last?.error || short(last)}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Polls fn (async, returns a truthy value when done) until it does, or throws saying
 *  what it waited for (`what`: text, or a function giving it at that moment). */
export async function until(fn, { timeout = 15000, interval = 250, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let value;
  for (;;) {
    value = await fn();
    if (value) return value;
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeout} ms waiting for ${typeof what === 'function' ? what() : what}; last: ${JSON.stringify(value)}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
