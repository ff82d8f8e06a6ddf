// call.js — the media side of a consultation room: this browser's camera and
// microphone, one RTCPeerConnection to the gateway's SFU, and what the other
// participants publish. Speaks the "Media" part of docs/PROTOCOL.md: the client
// is always the offerer (media.offer → media.answer), candidates trickle both
// ways (media.candidate), media.tracks says what the room publishes (we then
// renegotiate enough recvonly transceivers), media.state and media.quality are
// shown. Negotiations are serialised (one offer in flight, requests coalesced);
// ICE restarts on failure (or after 4 s "disconnected") and on demand.
// No DOM here: views/media.js renders a MediaCall from its 'change' events.
//
// For tests: window.consiliumCall = { pc, restartIce(), stats() } while a call
// runs (undefined otherwise). Page URL options: ?relay=1 (TURN only),
// ?simulcast=0 (one camera encoding instead of three).

const DISCONNECTED_GRACE_MS = 4000;
const RESTART_WATCHDOG_MS = 15000;
const RESTART_BACKOFF_MS = [0, 2000, 5000, 10000, 20000, 30000];
const RESTARTS_BEFORE_REBUILD = 3;
const CREDENTIAL_MARGIN_S = 600;
const SIMULCAST = [
  { rid: 'l', scaleResolutionDownBy: 4 },
  { rid: 'm', scaleResolutionDownBy: 2 },
  { rid: 'h', scaleResolutionDownBy: 1 },
];
const CAMERA = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 30, max: 30 } };
const MIC = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
// Errors after which retrying the same offer is pointless: the call stops and says why.
const FATAL_CODES = new Set(['unsupported', 'limit', 'wrong_state', 'forbidden', 'not_found', 'invalid', 'unauthenticated', 'expired']);

/** URL options (?relay=1, ?simulcast=0). */
export function callOptions(search = location.search) {
  const q = new URLSearchParams(search);
  return { relay: q.get('relay') === '1', simulcast: q.get('simulcast') !== '0' };
}

/** Whether this browser can take part in a call at all. */
export function mediaSupported() {
  return typeof RTCPeerConnection === 'function' && !!navigator.mediaDevices?.getUserMedia;
}

/** Only the fields RTCPeerConnection knows, from welcome.media.ice_servers. */
function iceServersOf(config) {
  const list = Array.isArray(config?.ice_servers) ? config.ice_servers : [];
  return list.filter((s) => s && (typeof s.urls === 'string' || Array.isArray(s.urls))).map((s) => {
    const out = { urls: s.urls };
    if (typeof s.username === 'string') out.username = s.username;
    if (typeof s.credential === 'string') out.credential = s.credential;
    return out;
  });
}

/** The earliest expiry (unix seconds) of the TURN credentials ("<expiry>:<subject>"), or Infinity. */
function credentialsExpiry(config) {
  let min = Infinity;
  for (const s of iceServersOf(config)) {
    const m = /^(\d+):/.exec(s.username || '');
    if (m) min = Math.min(min, Number(m[1]));
  }
  return min;
}

/** The mid the transport is bundled on: the first of a=group:BUNDLE, else the first a=mid. */
function bundleMid(sdp) {
  const g = /^a=group:BUNDLE ([^\r\n]+)/m.exec(sdp || '');
  if (g) return g[1].trim().split(/\s+/)[0];
  const m = /^a=mid:([^\r\n]+)/m.exec(sdp || '');
  return m ? m[1].trim() : '0';
}

/**
 * Video sections offer only what the gateway forwards (VP8, H.264 constrained
 * baseline with packetization-mode 1, and their RTX): without this Chromium
 * lists ~34 payload types per video section, and a full room's offer (up to 24
 * sections) would not fit in one signalling message.
 */
function preferVideoCodecs(tx) {
  if (typeof tx.setCodecPreferences !== 'function' || typeof RTCRtpReceiver?.getCapabilities !== 'function') return;
  const codecs = RTCRtpReceiver.getCapabilities('video')?.codecs || [];
  const fmtp = (c) => c.sdpFmtpLine || '';
  const keep = codecs.filter((c) => /^video\/vp8$/i.test(c.mimeType)
    || (/^video\/h264$/i.test(c.mimeType) && /packetization-mode=1/.test(fmtp(c)) && /profile-level-id=42e0/i.test(fmtp(c)))
    || /^video\/rtx$/i.test(c.mimeType));
  if (!keep.some((c) => !/rtx$/i.test(c.mimeType))) return;
  try { tx.setCodecPreferences(keep); } catch { /* keep the browser's own list */ }
}

/** The camera and microphone chosen in the pre-call check (views/precall.js); null: the default. */
export const devicePrefs = { audio: null, video: null };

export function deviceReason(err) {
  switch (err?.name) {
    case 'NotAllowedError': case 'SecurityError': case 'PermissionDeniedError': return 'denied';
    case 'NotFoundError': case 'DevicesNotFoundError': case 'OverconstrainedError': return 'notFound';
    case 'NotReadableError': case 'TrackStartError': case 'AbortError': return 'busy';
    default: return 'other';
  }
}

/**
 * One participant's call in one consult. opts:
 *   consultId, request(type, fields) → Promise(reply), isOpen() → bool,
 *   config() → welcome.media (latest), freshConfig() → Promise(welcome.media) (a sync),
 *   expectedPeers() → number of other participants present (recvonly sections to offer first).
 * Emits 'change' whenever anything shown may have changed.
 */
export class MediaCall extends EventTarget {
  constructor(opts) {
    super();
    this.opts = opts;
    this.consultId = opts.consultId;
    this.options = callOptions();
    this.status = 'idle';       // idle | devices | connecting | connected | reconnecting | failed | closed | stopped
    this.gatewayState = null;   // media.state: connecting | connected | failed | closed
    this.gatewayReason = null;
    this.error = null;          // {code} when the gateway refused the call (or the offer failed)
    this.deviceProblem = null;  // {what: 'both'|'camera'|'mic', reason}
    this.screenProblem = null;
    this.stream = null;         // camera + microphone
    this.screenTrack = null;
    this.micOn = true;
    this.camOn = true;
    this.pc = null;
    this.tx = { mic: null, camera: null, screen: null };
    this.roomTracks = null;     // media.tracks: every track the others publish
    this.midTracks = new Map(); // media.answer tracks: mid → {track_id, user, name, kind, source}
    this.quality = new Map();   // user → {up, down}
    this.negotiating = null;
    this.wantOffer = false;
    this.wantRestart = false;
    this.tracksChanged = false;
    this.remoteQueue = [];      // gateway candidates waiting for a stable remote description
    this.localQueue = [];       // our candidates waiting for the offer to be sent
    this.offerSent = false;
    this.restarts = 0;
    this.timers = {};
    this.generation = 0;        // bumps on every new peer connection; stale async work checks it
    this.watched = new WeakSet();
    this.lost = false;          // suspended: the signalling link is down (suspend())
  }

  // ---- public --------------------------------------------------------------------

  /** Opens devices (once), builds the peer connection and sends the first offer. Also
   *  after suspend(): a new peer connection with the devices kept. */
  async start() {
    if (this.pc || this.status === 'devices') return;
    this.lost = false;
    this.error = null;
    this.gatewayState = null;
    // Devices again after a stop that released them (not when access was refused: asking
    // again would only be refused again; "Try again" is there for that).
    if (!this.stream && this.deviceProblem?.reason !== 'denied') {
      this.deviceProblem = null;
      this.setStatus('devices');
      await this.openDevices();
      if (this.status !== 'devices') return; // stopped meanwhile
    }
    this.buildPeer();
    this.expose();
    await this.negotiate();
  }

  /**
   * The signalling link dropped: the gateway ends this connection's media session when its
   * WebSocket closes, so the peer connection is closed here too (the devices stay on) and the
   * call says "reconnecting" until the room has rejoined and start() makes a new one.
   */
  suspend() {
    this.closePeer();
    this.roomTracks = null;
    this.midTracks = new Map();
    this.quality = new Map();
    this.gatewayState = null;
    this.error = null;
    this.lost = true;
    this.setStatus('reconnecting');
  }

  /** Ends the call. leave: also tell the gateway (media.leave); release: turn the devices off. */
  stop({ leave = true, release = true } = {}) {
    this.lost = false;
    const hadPeer = !!this.pc;
    this.closePeer();
    if (leave && hadPeer && this.opts.isOpen()) {
      this.opts.request('media.leave', { consult_id: this.consultId }).catch(() => {});
    }
    if (release) this.releaseDevices();
    this.roomTracks = null;
    this.midTracks = new Map();
    this.quality = new Map();
    this.gatewayState = null;
    this.setStatus('stopped');
  }

  /** ICE restart: a new offer with new ICE credentials, same transport and DTLS session. */
  async restartIce() {
    if (!this.pc) return;
    clearTimeout(this.timers.restart);
    this.timers.restart = null;
    await this.refreshIceServers();
    if (this.pc) this.setStatus(this.status === 'connected' ? 'connected' : 'reconnecting');
    this.armWatchdog();
    await this.negotiate({ iceRestart: true });
  }

  /** The "Reconnect video" button: an ICE restart, or a new peer connection when the
   *  gateway closed our session or the DTLS layer failed (a restart cannot mend those). */
  async reconnect() {
    if (!this.pc || this.gatewayState === 'closed' || this.pc.connectionState === 'failed'
        || this.restarts >= RESTARTS_BEFORE_REBUILD || this.error) {
      await this.rebuild();
    } else {
      await this.restartIce();
    }
  }

  toggleMic() {
    const track = this.stream?.getAudioTracks()[0];
    if (!track) return;
    this.micOn = !this.micOn;
    track.enabled = this.micOn;
    this.emit();
  }

  toggleCamera() {
    const track = this.stream?.getVideoTracks()[0];
    if (!track) return;
    this.camOn = !this.camOn;
    track.enabled = this.camOn;
    this.emit();
  }

  get canShareScreen() {
    return !!navigator.mediaDevices?.getDisplayMedia;
  }

  async toggleScreen() {
    if (this.screenTrack) { this.stopScreen(); return; }
    if (!this.pc || !this.canShareScreen) return;
    this.screenProblem = null;
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10, max: 15 } }, audio: false });
    } catch (err) {
      // The user closing the picker is not a problem worth a message.
      if (err?.name !== 'NotAllowedError' && err?.name !== 'AbortError') this.screenProblem = deviceReason(err);
      this.emit();
      return;
    }
    const track = stream.getVideoTracks()[0];
    if (!this.pc || !track) { stream.getTracks().forEach((tr) => tr.stop()); return; }
    if ('contentHint' in track) track.contentHint = 'detail';
    track.addEventListener('ended', () => { if (this.screenTrack === track) this.stopScreen(); });
    this.screenTrack = track;
    await this.attachScreen();
    this.emit();
    await this.negotiate();
  }

  stopScreen() {
    const track = this.screenTrack;
    this.screenTrack = null;
    if (track) track.stop();
    const tx = this.tx.screen;
    if (tx && this.pc && this.pc.signalingState !== 'closed') {
      tx.sender.replaceTrack(null).catch(() => {});
      tx.direction = 'inactive';
      this.negotiate();
    }
    this.emit();
  }

  /** After a device failure: ask for the camera and microphone again, and publish them. */
  async retryDevices() {
    if (this.stream) return;
    this.deviceProblem = null;
    this.emit();
    await this.openDevices();
    if (!this.stream) return;
    if (this.pc) {
      this.addSenders();
      await this.negotiate();
    }
  }

  /** media.* notices for this consult (app.js → views/call.js → here). */
  onNotice(msg) {
    if (msg.consult_id !== this.consultId || !this.pc) return;
    switch (msg.type) {
      case 'media.candidate':
        this.addRemoteCandidate(typeof msg.candidate === 'string' ? msg.candidate : '');
        break;
      case 'media.tracks': {
        const before = new Set((this.roomTracks || []).map((tr) => tr.track_id));
        this.roomTracks = Array.isArray(msg.tracks) ? msg.tracks.filter((tr) => tr && tr.track_id) : [];
        // A track that is gone frees its section. The gateway gives a track published again
        // (its publisher reconnected) the same id as before: without forgetting the old
        // mapping, its return would look "already carried" and never be asked for.
        const listed = new Set(this.roomTracks.map((tr) => tr.track_id));
        for (const [mid, tr] of this.midTracks) {
          if (before.has(tr.track_id) && !listed.has(tr.track_id)) this.midTracks.delete(mid);
        }
        this.tracksChanged = true;
        this.emit();
        if (this.needsOffer()) this.negotiate();
        break;
      }
      case 'media.state':
        this.gatewayState = msg.state || null;
        this.gatewayReason = msg.reason || null;
        if (msg.state === 'failed') this.scheduleRestart();
        this.updateStatus();
        break;
      case 'media.quality':
        this.quality = new Map((Array.isArray(msg.participants) ? msg.participants : [])
          .filter((p) => p && p.user).map((p) => [p.user, { up: p.up || null, down: p.down || null, name: p.name }]));
        this.emit();
        break;
      default:
        break;
    }
  }

  /** What the others publish and what reaches us: one entry per remote participant. */
  remoteParticipants() {
    const live = this.roomTracks ? new Set(this.roomTracks.map((tr) => tr.track_id)) : null;
    const users = new Map();
    const entry = (user, name) => {
      let e = users.get(user);
      if (!e) { e = { user, name: name || user, camera: null, screen: null, audio: [], publishes: new Set() }; users.set(user, e); }
      if (name) e.name = name;
      return e;
    };
    for (const tr of this.roomTracks || []) entry(tr.user, tr.name).publishes.add(tr.source);
    if (this.pc) {
      for (const tx of this.pc.getTransceivers()) {
        if (!tx.mid || this.isSender(tx)) continue;
        const info = this.midTracks.get(tx.mid);
        if (!info || (live && !live.has(info.track_id))) continue;
        const e = entry(info.user, info.name);
        if (!live) e.publishes.add(info.source);
        const item = { track: tx.receiver.track, mid: tx.mid, trackId: info.track_id, inactive: tx.currentDirection === 'inactive' };
        this.watch(tx.receiver.track);
        if (info.kind === 'audio') e.audio.push(item);
        else if (info.source === 'screen') e.screen = item;
        else e.camera = item;
      }
    }
    return [...users.values()];
  }

  // ---- devices -------------------------------------------------------------------------

  async openDevices() {
    if (!navigator.mediaDevices?.getUserMedia) {
      this.deviceProblem = { what: 'both', reason: 'other' };
      return;
    }
    const attempts = [{ audio: MIC, video: CAMERA }, { audio: MIC }, { video: CAMERA }];
    if (devicePrefs.audio || devicePrefs.video) { // the devices chosen in the pre-call check, if still there
      attempts.unshift({
        audio: devicePrefs.audio ? { ...MIC, deviceId: { exact: devicePrefs.audio } } : MIC,
        video: devicePrefs.video ? { ...CAMERA, deviceId: { exact: devicePrefs.video } } : CAMERA,
      });
    }
    let firstError = null;
    for (const constraints of attempts) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia(constraints);
        if (this.status === 'stopped') { stream.getTracks().forEach((tr) => tr.stop()); return; }
        this.stream = stream;
        this.micOn = true;
        this.camOn = true;
        this.deviceProblem = constraints.video && constraints.audio ? null
          : { what: constraints.video ? 'mic' : 'camera', reason: deviceReason(firstError) };
        for (const track of stream.getTracks()) {
          track.addEventListener('ended', () => this.emit()); // unplugged
        }
        this.emit();
        return;
      } catch (err) {
        firstError = firstError || err;
        if (deviceReason(err) === 'denied') break; // asking again would only be refused again
      }
    }
    this.deviceProblem = { what: 'both', reason: deviceReason(firstError) };
    this.emit();
  }

  releaseDevices() {
    if (this.stream) this.stream.getTracks().forEach((tr) => tr.stop());
    if (this.screenTrack) this.screenTrack.stop();
    this.stream = null;
    this.screenTrack = null;
  }

  // ---- the peer connection ---------------------------------------------------------------

  buildPeer() {
    this.generation += 1;
    const gen = this.generation;
    const pc = new RTCPeerConnection({
      iceServers: iceServersOf(this.opts.config()),
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
      iceTransportPolicy: this.options.relay ? 'relay' : 'all',
    });
    this.pc = pc;
    this.tx = { mic: null, camera: null, screen: null };
    this.midTracks = new Map();
    this.remoteQueue = [];
    this.localQueue = [];
    this.offerSent = false;
    this.restarts = 0;
    this.addSenders();
    if (this.screenTrack) this.attachScreen();
    // Receiving sections for the participants already present, so the first answer can carry them.
    const peers = Math.max(1, Math.min(7, this.opts.expectedPeers?.() ?? 1));
    for (let i = 0; i < peers; i++) {
      pc.addTransceiver('audio', { direction: 'recvonly' });
      preferVideoCodecs(pc.addTransceiver('video', { direction: 'recvonly' }));
    }
    pc.addEventListener('icecandidate', (e) => {
      if (gen !== this.generation) return;
      // null: gathering finished for this generation → "" (end of candidates).
      this.sendCandidate(e.candidate ? e.candidate.candidate : '');
    });
    pc.addEventListener('iceconnectionstatechange', () => { if (gen === this.generation) this.onIceState(); });
    pc.addEventListener('connectionstatechange', () => { if (gen === this.generation) this.updateStatus(); });
    pc.addEventListener('track', () => { if (gen === this.generation) this.emit(); });
    this.setStatus('connecting');
  }

  addSenders() {
    const pc = this.pc;
    const audio = this.stream?.getAudioTracks()[0];
    const video = this.stream?.getVideoTracks()[0];
    if (audio && !this.tx.mic) this.tx.mic = pc.addTransceiver(audio, { direction: 'sendonly', streams: [this.stream] });
    if (video && !this.tx.camera) {
      const init = { direction: 'sendonly', streams: [this.stream] };
      if (this.options.simulcast) init.sendEncodings = SIMULCAST.map((e) => ({ ...e }));
      this.tx.camera = pc.addTransceiver(video, init);
      preferVideoCodecs(this.tx.camera);
    }
  }

  async attachScreen() {
    if (!this.pc || !this.screenTrack) return;
    if (this.tx.screen) {
      await this.tx.screen.sender.replaceTrack(this.screenTrack).catch(() => {});
      this.tx.screen.direction = 'sendonly';
    } else {
      this.tx.screen = this.pc.addTransceiver(this.screenTrack, { direction: 'sendonly', streams: [new MediaStream([this.screenTrack])] });
      preferVideoCodecs(this.tx.screen);
    }
  }

  isSender(tx) {
    return tx === this.tx.mic || tx === this.tx.camera || tx === this.tx.screen;
  }

  closePeer() {
    this.generation += 1;
    for (const k of Object.keys(this.timers)) { clearTimeout(this.timers[k]); this.timers[k] = null; }
    if (this.pc) {
      try { this.pc.close(); } catch { /* already closed */ }
    }
    this.pc = null;
    this.tx = { mic: null, camera: null, screen: null };
    this.wantOffer = false;
    this.wantRestart = false;
    if (window.consiliumCall?.owner === this) window.consiliumCall = undefined;
  }

  /** A new peer connection (and a new media session at the gateway). */
  async rebuild() {
    if (this.status === 'stopped' || this.status === 'idle') return;
    const hadPeer = !!this.pc;
    this.closePeer();
    if (hadPeer && this.opts.isOpen()) {
      await this.opts.request('media.leave', { consult_id: this.consultId }).catch(() => {});
    }
    this.error = null;
    this.gatewayState = null;
    this.roomTracks = null;
    await this.refreshIceServers(true);
    this.buildPeer();
    this.expose();
    await this.negotiate();
  }

  expose() {
    const call = this;
    window.consiliumCall = {
      owner: call,
      get pc() { return call.pc; },
      restartIce: () => call.restartIce(),
      stats: () => (call.pc ? call.pc.getStats() : Promise.resolve(new Map())),
      /** For diagnostics: what the call knows (no credentials). */
      debug: () => ({
        status: call.status, gatewayState: call.gatewayState, gatewayReason: call.gatewayReason, error: call.error,
        roomTracks: call.roomTracks, answerTracks: [...call.midTracks.values()],
        transceivers: call.pc ? call.pc.getTransceivers().map((tx) => ({ mid: tx.mid, kind: tx.receiver.track.kind, direction: tx.direction, current: tx.currentDirection })) : [],
      }),
    };
  }

  /** TURN credentials expire (welcome.media); fetch fresh ones (sync) shortly before. */
  async refreshIceServers(beforeNewPeer = false) {
    const expiry = credentialsExpiry(this.opts.config());
    if (expiry === Infinity || expiry - Date.now() / 1000 > CREDENTIAL_MARGIN_S) return;
    try {
      const config = await this.opts.freshConfig();
      if (!beforeNewPeer && this.pc && config) {
        this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: iceServersOf(config) });
      }
    } catch { /* keep the old ones; the restart may still work through a host candidate */ }
  }

  // ---- negotiation ---------------------------------------------------------------------

  /** True when media.tracks asks for more receiving sections, or (since it last changed)
   *  lists a track the last answer did not map to one of our sections. A track that
   *  went away needs no offer: it is no longer shown, and its section is reused later. */
  needsOffer() {
    if (!this.pc || !this.roomTracks) return false;
    if (this.recvShortfall().length > 0) return true;
    if (!this.tracksChanged) return false;
    const mapped = new Set([...this.midTracks.values()].map((tr) => tr.track_id));
    return this.roomTracks.some((tr) => !mapped.has(tr.track_id));
  }

  recvShortfall() {
    const missing = [];
    for (const kind of ['audio', 'video']) {
      const need = (this.roomTracks || []).filter((tr) => tr.kind === kind).length;
      const have = this.pc.getTransceivers().filter((tx) => !this.isSender(tx) && !tx.stopped
        && tx.receiver.track.kind === kind && tx.direction === 'recvonly').length;
      for (let i = have; i < need; i++) missing.push(kind);
    }
    return missing;
  }

  /**
   * Asks for an offer/answer round. Only one is in flight; requests made meanwhile
   * are coalesced into one more round after it. Resolves when no round is pending.
   */
  negotiate({ iceRestart = false } = {}) {
    if (!this.pc) return Promise.resolve();
    this.wantOffer = true;
    if (iceRestart) this.wantRestart = true;
    if (!this.negotiating) {
      this.negotiating = this.negotiateLoop().finally(() => { this.negotiating = null; });
    }
    return this.negotiating;
  }

  async negotiateLoop() {
    while (this.wantOffer && this.pc) {
      const restart = this.wantRestart;
      this.wantOffer = false;
      this.wantRestart = false;
      this.tracksChanged = false;
      const ok = await this.offerOnce(restart);
      if (!ok) break;
      if (this.needsOffer()) this.wantOffer = true;
    }
  }

  async offerOnce(iceRestart) {
    const pc = this.pc;
    const gen = this.generation;
    const stale = () => gen !== this.generation || pc.signalingState === 'closed';
    for (const kind of this.recvShortfall()) {
      const tx = pc.addTransceiver(kind, { direction: 'recvonly' });
      if (kind === 'video') preferVideoCodecs(tx);
    }
    let reply;
    // Candidates gathered from here on wait until the offer they belong to has gone out.
    this.offerSent = false;
    try {
      const offer = await pc.createOffer(iceRestart ? { iceRestart: true } : {});
      if (stale()) return false;
      await pc.setLocalDescription(offer);
      if (stale()) return false;
      const pending = this.opts.request('media.offer', {
        consult_id: this.consultId, sdp: pc.localDescription.sdp, sources: this.sources(),
      });
      this.offerSent = true;
      this.flushLocalCandidates();
      reply = await pending;
    } catch (err) {
      this.offerSent = true;
      this.localQueue = []; // they belonged to the refused offer
      if (stale()) return false;
      await this.rollback(pc);
      this.onOfferError(err);
      return false;
    }
    if (stale()) return false;
    if (reply?.type !== 'media.answer' || typeof reply.sdp !== 'string') {
      await this.rollback(pc);
      this.onOfferError({ code: 'unsupported' });
      return false;
    }
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
    } catch {
      if (stale()) return false;
      await this.rollback(pc);
      this.onOfferError({ code: 'answer' });
      return false;
    }
    if (stale()) return false;
    this.midTracks = new Map((Array.isArray(reply.tracks) ? reply.tracks : []).filter((tr) => tr && tr.mid != null)
      .map((tr) => [String(tr.mid), tr]));
    this.error = null;
    this.flushRemoteCandidates();
    this.updateStatus();
    return true;
  }

  async rollback(pc) {
    if (pc.signalingState === 'have-local-offer') {
      try { await pc.setLocalDescription({ type: 'rollback' }); } catch { /* nothing to undo */ }
    }
  }

  onOfferError(err) {
    const code = err?.code || 'unknown';
    if (code === 'offline' || code === 'disconnected') {
      // The WebSocket is down: the gateway has already ended this session, and the
      // room view starts the call again after it has rejoined.
      this.setStatus('reconnecting');
      return;
    }
    if (FATAL_CODES.has(code)) {
      this.error = { code };
      this.closePeer();
      this.setStatus('failed');
      return;
    }
    // timeout, storage, no_memory, an answer the browser refused: try again later.
    this.error = { code };
    this.setStatus('failed');
    this.scheduleRestart();
  }

  /** {mid: source} for the sections we send on. */
  sources() {
    const out = {};
    for (const [source, tx] of [['microphone', this.tx.mic], ['camera', this.tx.camera], ['screen', this.tx.screen]]) {
      if (tx && tx.mid != null) out[tx.mid] = source;
    }
    return out;
  }

  // ---- candidates ------------------------------------------------------------------------

  sendCandidate(candidate) {
    if (!this.offerSent) { this.localQueue.push(candidate); return; }
    if (!this.opts.isOpen()) return;
    // With an id, so a refusal is a reply we can ignore rather than a stray error.
    this.opts.request('media.candidate', { consult_id: this.consultId, candidate }).catch(() => {});
  }

  flushLocalCandidates() {
    const queued = this.localQueue;
    this.localQueue = [];
    for (const c of queued) this.sendCandidate(c);
  }

  addRemoteCandidate(candidate) {
    const pc = this.pc;
    // Until the answer is applied, a candidate could land on the previous ICE generation.
    if (!pc.remoteDescription || pc.signalingState !== 'stable') {
      this.remoteQueue.push(candidate);
      return;
    }
    const sdpMid = bundleMid(pc.remoteDescription.sdp);
    pc.addIceCandidate({ candidate, sdpMid, sdpMLineIndex: 0 }).catch(() => {
      // An unusable candidate (or one of an old generation) is not fatal: ICE uses the others.
    });
  }

  flushRemoteCandidates() {
    const queued = this.remoteQueue;
    this.remoteQueue = [];
    for (const c of queued) this.addRemoteCandidate(c);
  }

  // ---- connection state, restarts ----------------------------------------------------------

  onIceState() {
    const s = this.pc?.iceConnectionState;
    if (s === 'failed') {
      this.scheduleRestart();
    } else if (s === 'disconnected') {
      clearTimeout(this.timers.disconnected);
      this.timers.disconnected = setTimeout(() => {
        if (this.pc?.iceConnectionState === 'disconnected') this.scheduleRestart();
      }, DISCONNECTED_GRACE_MS);
    } else if (s === 'connected' || s === 'completed') {
      clearTimeout(this.timers.disconnected);
      clearTimeout(this.timers.watchdog);
      this.restarts = 0;
    }
    this.updateStatus();
  }

  /** An automatic restart, with backoff; after a few failed ones, a new peer connection. */
  scheduleRestart() {
    if (!this.pc || this.timers.restart) return;
    const delay = RESTART_BACKOFF_MS[Math.min(this.restarts, RESTART_BACKOFF_MS.length - 1)];
    this.restarts += 1;
    this.timers.restart = setTimeout(() => {
      this.timers.restart = null;
      if (!this.pc || !this.opts.isOpen()) return;
      if (this.restarts > RESTARTS_BEFORE_REBUILD || this.pc.connectionState === 'failed' && this.pc.iceConnectionState !== 'failed') {
        this.rebuild();
      } else {
        this.restartIce();
      }
    }, delay);
    this.updateStatus();
  }

  /** A restart that has not connected within a while is retried. */
  armWatchdog() {
    clearTimeout(this.timers.watchdog);
    this.timers.watchdog = setTimeout(() => {
      const s = this.pc?.iceConnectionState;
      if (this.pc && s !== 'connected' && s !== 'completed') this.scheduleRestart();
    }, RESTART_WATCHDOG_MS);
  }

  /** Our status from the browser's view of the connection and the gateway's media.state. */
  updateStatus() {
    if (!this.pc) { this.emit(); return; }
    const pcState = this.pc.connectionState;
    let status;
    if (this.gatewayState === 'closed') status = 'closed';
    else if (this.error && !this.negotiating) status = 'failed';
    else if (pcState === 'connected' && this.gatewayState !== 'failed' && this.gatewayState !== 'connecting') status = 'connected';
    else if (pcState === 'failed' && !this.timers.restart) status = 'failed';
    else if (pcState === 'disconnected' || pcState === 'failed' || this.gatewayState === 'failed' || this.timers.restart) status = 'reconnecting';
    else status = this.status === 'connected' || this.status === 'reconnecting' ? 'reconnecting' : 'connecting';
    this.setStatus(status);
  }

  setStatus(status) {
    this.status = status;
    this.emit();
  }

  watch(track) {
    if (!track || this.watched.has(track)) return;
    this.watched.add(track);
    track.addEventListener('mute', () => this.emit());
    track.addEventListener('unmute', () => this.emit());
  }

  emit() {
    if (this.emitQueued) return;
    this.emitQueued = true;
    queueMicrotask(() => {
      this.emitQueued = false;
      this.dispatchEvent(new Event('change'));
    });
  }
}
