// views/media.js — the video call panel of the room view: a tile per remote
// participant (name, camera video, a larger tile for a shared screen, badges
// for a missing camera or microphone and for video held back on a weak link, a
// compact link-quality line; the name comes with the participant's role in
// the consult), this browser's own picture, the toolbar
// (microphone, camera, screen sharing, "Reconnect video"), the call's status
// and its problems in words. Audio plays through hidden <audio> elements, one
// per remote audio track. Renders a MediaCall (../call.js) on its 'change'.

import { h, setChildren, setText, svgIcon } from '../dom.js';
import { t, getLang } from '../i18n.js';
import { errorText } from '../errors.js';

const ICONS = {
  mic: ['M10 2.5a2.5 2.5 0 0 0-2.5 2.5v5a2.5 2.5 0 0 0 5 0V5A2.5 2.5 0 0 0 10 2.5z', 'M5 9.5a5 5 0 0 0 10 0', 'M10 14.5V18', 'M7 18h6'],
  camera: ['M3 6h9a1 1 0 0 1 1 1v6a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1z', 'M13 9l5-3v8l-5-3'],
  screen: ['M2.5 3.5h15v10h-15z', 'M7 17.5h6', 'M10 13.5v4'],
  reconnect: ['M16 10a6 6 0 1 1-1.8-4.3', 'M15.5 2.5v3.8h-3.8'],
  sound: ['M3 8h3l4-3v10l-4-3H3z', 'M13 7.5a3.5 3.5 0 0 1 0 5', 'M15 5.5a6.5 6.5 0 0 1 0 9'],
  slash: ['M3 3l14 14'],
};

function icon(name, off = false) {
  return svgIcon([...ICONS[name], ...(off ? ICONS.slash : [])]);
}

function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter((w) => /^\p{L}/u.test(w));
  return (words.slice(-2).map((w) => w[0]).join('') || '?').toUpperCase();
}

function num(v, digits = 0) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return '—';
  return new Intl.NumberFormat(getLang() === 'ru' ? 'ru-RU' : 'en-GB', { maximumFractionDigits: digits }).format(Number(v));
}

const worst = (a, b) => (a == null ? b : b == null ? a : Math.max(a, b));

/** good | fair | poor | unknown for a participant's {up, down}. */
export function qualityLevel(q) {
  const loss = worst(q?.up?.loss_percent, q?.down?.loss_percent);
  const rtt = worst(q?.up?.rtt_ms, q?.down?.rtt_ms);
  if (loss == null && rtt == null) return 'unknown';
  if ((loss ?? 0) >= 5 || (rtt ?? 0) >= 400) return 'poor';
  if ((loss ?? 0) >= 2 || (rtt ?? 0) >= 200) return 'fair';
  return 'good';
}

/** The figures of a participant's {up, down}, formatted: worst loss and RTT of the two
 *  directions, bitrate each way ('—' while unknown). */
export function qualityFigures(q) {
  return {
    loss: num(worst(q?.up?.loss_percent, q?.down?.loss_percent), 1),
    rtt: num(worst(q?.up?.rtt_ms, q?.down?.rtt_ms)),
    up: num(q?.up?.kbps),
    down: num(q?.down?.kbps),
  };
}

/** "Good link · loss 0.5 % · RTT 45 ms · ↑ 820 ↓ 1,100 kbit/s" (empty when nothing is known);
 *  self: "Your link: good · …". */
export function qualityText(q, { self = false } = {}) {
  if (!q || (!q.up && !q.down)) return '';
  const level = qualityLevel(q);
  return t('call.q.line', { level: t(self ? `call.q.self.${level}` : `call.q.${level}`), ...qualityFigures(q) });
}

/**
 * The panel for one MediaCall. opts.me: the signed-in user ({subject, name});
 * opts.present(): the other participants in the room ({subject, name}), who get
 * a tile (with their initials) even when they publish nothing; opts.roleOf(subject):
 * the role of a participant of the consult ('clinician', …), or null.
 * Returns {el, render, destroy}.
 */
export function createMediaPanel(call, { me, present = () => [], roleOf = () => null }) {
  const status = h('p', { class: 'media-status', role: 'status', 'aria-live': 'polite' });
  const notices = h('div', { class: 'media-notices', 'aria-live': 'polite' });
  const stage = h('div', { class: 'stage' });
  const empty = h('p', { class: 'stage-empty' });
  const selfVideo = h('video', { class: 'tile-video is-mirrored', autoplay: true, playsinline: true, muted: true });
  selfVideo.muted = true;
  const selfAvatar = h('div', { class: 'tile-avatar', 'aria-hidden': 'true', text: initials(me?.name) });
  const selfName = h('span', { class: 'tile-name' });
  const selfRole = h('span', { class: 'tile-role' });
  const selfBadges = h('span', { class: 'tile-badges' });
  const self = h('div', { class: 'tile tile-self', dataset: { user: me?.subject || '', source: 'self' } },
    selfVideo, selfAvatar, h('div', { class: 'tile-caption' }, h('span', { class: 'tile-title' }, selfName, selfRole, selfBadges)));
  const audios = h('div', { class: 'media-audio', hidden: true });
  const audioEls = new Map(); // remote audio track id → <audio>
  const tiles = new Map();    // `${user}/${camera|screen}` → tile parts
  let autoplayBlocked = false;
  const mutedSince = new WeakMap(); // remote video track → when it stopped receiving
  let recheck = null;

  const buttons = {
    mic: toolButton('mic', () => call.toggleMic()),
    camera: toolButton('camera', () => call.toggleCamera()),
    screen: toolButton('screen', () => call.toggleScreen()),
    reconnect: toolButton('reconnect', () => call.reconnect()),
  };
  const selfQuality = h('p', { class: 'self-quality' });
  const toolbar = h('div', { class: 'media-toolbar' },
    h('div', { class: 'toolbar-buttons' }, buttons.mic.el, buttons.camera.el, buttons.screen.el, buttons.reconnect.el),
    selfQuality);

  const el = h('div', { class: 'media-call' },
    h('div', { class: 'media-head' }, h('h3', { id: 'media-title' }), status),
    notices, h('div', { class: 'stage-wrap' }, stage, self), toolbar, audios);
  const stageWrap = stage.parentNode;

  function toolButton(name, onClick) {
    const label = h('span', { class: 'btn-label' });
    const b = h('button', { type: 'button', class: 'btn btn-media', dataset: { mediaAction: name } }, label);
    b.addEventListener('click', async () => {
      if (b.getAttribute('aria-busy') === 'true') return;
      if (name === 'reconnect' || name === 'screen') b.setAttribute('aria-busy', 'true');
      try { await onClick(); } finally { b.removeAttribute('aria-busy'); render(); }
    });
    return { el: b, label, name, iconOff: null };
  }

  function setButton(btn, { text, pressed, off, disabled, hidden, title }) {
    const b = btn.el;
    b.hidden = !!hidden;
    b.disabled = !!disabled;
    if (pressed === undefined) b.removeAttribute('aria-pressed');
    else b.setAttribute('aria-pressed', String(pressed));
    b.classList.toggle('is-off', !!off);
    if (title) b.title = title; else b.removeAttribute('title');
    const key = `${btn.name}:${off ? 1 : 0}`;
    if (b.dataset.icon !== key) {
      b.dataset.icon = key;
      b.querySelector('svg')?.remove();
      b.prepend(icon(btn.name, !!off));
    }
    setText(btn.label, text);
  }

  function setVideo(video, track) {
    if ((video.srcObject?.getTracks?.()[0] || null) === (track || null)) return;
    video.srcObject = track ? new MediaStream([track]) : null;
    if (track) video.play().catch(() => { /* a muted video may always play; nothing to do */ });
  }

  function tile(key, user, source) {
    let parts = tiles.get(key);
    if (!parts) {
      const video = h('video', { class: 'tile-video', autoplay: true, playsinline: true, muted: true });
      video.muted = true;
      const avatar = h('div', { class: 'tile-avatar', 'aria-hidden': 'true' });
      const name = h('span', { class: 'tile-name' });
      const role = h('span', { class: 'tile-role' });
      const badges = h('span', { class: 'tile-badges' });
      const quality = h('span', { class: 'tile-quality' });
      const el2 = h('div', { class: ['tile', source === 'screen' ? 'tile-screen' : 'tile-camera'], role: 'group', dataset: { user, source } },
        video, avatar, h('div', { class: 'tile-caption' }, h('span', { class: 'tile-title' }, name, role, badges), quality));
      parts = { el: el2, video, avatar, name, role, badges, quality };
      tiles.set(key, parts);
    }
    return parts;
  }

  /** A remote video that has received nothing for 3 s while the call is connected. */
  function starved(track, connected) {
    if (!track.muted || !connected) { mutedSince.delete(track); return false; }
    const since = mutedSince.get(track) ?? Date.now();
    mutedSince.set(track, since);
    const left = since + 3000 - Date.now();
    if (left <= 0) return true;
    clearTimeout(recheck);
    recheck = setTimeout(render, left + 50);
    return false;
  }

  const BADGE_ICON = { micoff: 'mic', camoff: 'camera' };
  function badge(kind, text) {
    return h('span', { class: ['tile-badge', `badge-${kind}`], dataset: { badge: kind }, title: text },
      BADGE_ICON[kind] ? icon(BADGE_ICON[kind], true) : null, h('span', { class: 'badge-text' }, text));
  }

  function renderRemote(connected) {
    const people = call.remoteParticipants();
    if (call.roomTracks) { // once we know what the room publishes, those who publish nothing show too
      for (const p of present()) {
        if (!people.some((x) => x.user === p.subject)) {
          people.push({ user: p.subject, name: p.name, camera: null, screen: null, audio: [], publishes: new Set() });
        }
      }
    }
    const wanted = new Set();
    const screens = [];
    const cameras = [];
    for (const p of people) {
      // Camera tile: always one per participant, with their picture or initials.
      const key = `${p.user}/camera`;
      wanted.add(key);
      const parts = tile(key, p.user, 'camera');
      const cam = p.camera;
      const weak = !!cam && (cam.inactive || starved(cam.track, connected));
      setVideo(parts.video, cam && !cam.inactive ? cam.track : null);
      parts.el.classList.toggle('has-video', !!cam && !weak);
      const role = roleOf(p.user);
      const roleText = role ? t(`role.${role}`) : '';
      parts.el.setAttribute('aria-label', roleText ? `${p.name}, ${roleText}` : p.name);
      setText(parts.avatar, initials(p.name));
      setText(parts.name, p.name);
      setText(parts.role, roleText);
      const b = [];
      if (weak) b.push(badge('weak', t('call.media.weakLink')));
      else if (!p.publishes.has('camera')) b.push(badge('camoff', t('call.media.camOff')));
      if (!p.publishes.has('microphone')) b.push(badge('micoff', t('call.media.micOff')));
      setChildren(parts.badges, b);
      const q = call.quality.get(p.user);
      setText(parts.quality, qualityText(q));
      parts.quality.title = t('call.q.title');
      parts.quality.dataset.level = qualityLevel(q);
      cameras.push(parts.el);

      if (p.screen) {
        const skey = `${p.user}/screen`;
        wanted.add(skey);
        const s = tile(skey, p.user, 'screen');
        const sweak = p.screen.inactive || starved(p.screen.track, connected);
        setVideo(s.video, p.screen.inactive ? null : p.screen.track);
        s.el.classList.toggle('has-video', !sweak);
        const label = t('call.media.screenOf', { name: p.name });
        s.el.setAttribute('aria-label', label);
        setText(s.name, label);
        setText(s.role, roleText);
        setText(s.avatar, '');
        setChildren(s.badges, sweak ? badge('weak', t('call.media.weakLink')) : null);
        screens.push(s.el);
      }
      for (const a of p.audio) playAudio(a);
    }
    for (const [key, parts] of tiles) {
      if (!wanted.has(key)) { parts.video.srcObject = null; parts.el.remove(); tiles.delete(key); }
    }
    const liveAudio = new Set(people.flatMap((p) => p.audio.map((a) => a.track.id)));
    for (const [id, a] of audioEls) {
      if (!liveAudio.has(id)) { a.srcObject = null; a.remove(); audioEls.delete(id); }
    }
    // One other participant: their picture fills the stage and ours floats in a corner.
    // More, or a shared screen: ours is one tile of the grid.
    const selfInGrid = (cameras.length >= 2 || screens.length > 0) && !self.hidden;
    const children = [...screens, ...cameras];
    if (selfInGrid) children.push(self);
    if (!children.length) children.push(empty);
    if (children.length !== stage.children.length || children.some((c, i) => stage.children[i] !== c)) {
      setChildren(stage, children);
    }
    if (!selfInGrid && self.parentNode !== stageWrap) stageWrap.append(self);
    const gridTiles = cameras.length + (selfInGrid ? 1 : 0);
    stage.dataset.count = String(gridTiles);
    stage.style.setProperty('--side-tiles', String(Math.max(1, gridTiles)));
    stage.classList.toggle('has-screen', screens.length > 0);
    setText(empty, t(call.lost ? 'call.media.status.signalLost' : call.status === 'connected' ? 'call.media.waiting' : 'call.media.connectingOthers'));
  }

  function playAudio(item) {
    const id = item.track.id;
    if (audioEls.has(id)) return;
    const a = h('audio', { autoplay: true, dataset: { mid: item.mid } });
    a.srcObject = new MediaStream([item.track]);
    audioEls.set(id, a);
    audios.append(a);
    a.play().catch(() => { autoplayBlocked = true; render(); });
  }

  async function enableSound() {
    let ok = true;
    for (const a of audioEls.values()) {
      try { await a.play(); } catch { ok = false; }
    }
    autoplayBlocked = !ok;
    render();
  }

  function renderSelf() {
    const video = call.stream?.getVideoTracks()[0] || null;
    const audio = call.stream?.getAudioTracks()[0] || null;
    const camLive = !!video && call.camOn && video.readyState === 'live';
    setVideo(selfVideo, camLive ? video : null);
    self.classList.toggle('has-video', camLive);
    const myRole = roleOf(me?.subject);
    self.setAttribute('aria-label', myRole ? `${t('call.media.you')}, ${t(`role.${myRole}`)}` : t('call.media.you'));
    setText(selfName, t('call.media.you'));
    setText(selfRole, myRole ? t(`role.${myRole}`) : '');
    // Our initials already say the camera is off; the microphone is worth a badge.
    setChildren(selfBadges, !audio || !call.micOn ? badge('micoff', t('call.media.micOff')) : null);
    self.hidden = call.status === 'stopped' && !call.stream;

    setButton(buttons.mic, {
      text: audio && call.micOn ? t('call.media.mic') : t('call.media.micOffShort'),
      pressed: !!audio && call.micOn, off: !audio || !call.micOn, disabled: !audio,
      title: audio ? t(call.micOn ? 'call.media.muteMic' : 'call.media.unmuteMic') : t('call.media.noMicShort'),
    });
    setButton(buttons.camera, {
      text: video && call.camOn ? t('call.media.camera') : t('call.media.cameraOffShort'),
      pressed: !!video && call.camOn, off: !video || !call.camOn, disabled: !video,
      title: video ? t(call.camOn ? 'call.media.camOffAct' : 'call.media.camOnAct') : t('call.media.noCameraShort'),
    });
    setButton(buttons.screen, {
      text: call.screenTrack ? t('call.media.stopScreen') : t('call.media.screen'),
      pressed: !!call.screenTrack, hidden: !call.canShareScreen, disabled: !call.pc,
    });
    setButton(buttons.reconnect, {
      text: t('call.media.reconnect'),
      disabled: call.status === 'stopped' || call.status === 'devices' || call.status === 'idle' || call.lost,
    });
    buttons.reconnect.el.classList.toggle('is-urgent', call.status === 'failed' || call.status === 'closed');
    const q = call.quality.get(me?.subject);
    setText(selfQuality, qualityText(q, { self: true }));
    selfQuality.title = t('call.q.title');
    selfQuality.dataset.level = qualityLevel(q);
  }

  function renderNotices() {
    const items = [];
    const dp = call.deviceProblem;
    if (dp) {
      const reason = t(`call.media.reason.${dp.reason}`);
      const key = dp.what === 'both' ? 'call.media.noDevices' : dp.what === 'camera' ? 'call.media.noCamera' : 'call.media.noMic';
      items.push(notice('device', t(key, { reason }), dp.what === 'both'
        ? h('button', { type: 'button', class: 'btn btn-secondary btn-small', on: { click: () => call.retryDevices() } }, t('call.media.retryDevices'))
        : null));
    }
    if (call.error) {
      const code = call.error.code;
      const key = `call.media.err.${code}`;
      const text = t(key) !== key ? t(key, { n: call.opts.config()?.max_participants ?? 8 }) : errorText({ code });
      items.push(notice('error', text, null, 'is-error'));
    }
    if (call.screenProblem) items.push(notice('screen', t('call.media.screenFailed', { reason: t(`call.media.reason.${call.screenProblem}`) })));
    if (autoplayBlocked) {
      items.push(notice('sound', t('call.media.soundBlocked'),
        h('button', { type: 'button', class: 'btn btn-primary btn-small', on: { click: enableSound } }, icon('sound'), t('call.media.enableSound'))));
    }
    const sig = items.map((i) => i.dataset.notice + i.textContent).join('|');
    if (notices.dataset.sig !== sig) {
      notices.dataset.sig = sig;
      setChildren(notices, items);
    }
    notices.hidden = items.length === 0;
  }

  function notice(kind, text, action = null, cls = '') {
    return h('div', { class: ['media-notice', cls], dataset: { notice: kind } }, h('p', { text }), action);
  }

  function render() {
    const s = call.status;
    setText(el.querySelector('#media-title'), t('call.media'));
    const statusKey = s === 'idle' || s === 'stopped' ? '' : call.lost ? 'call.media.status.signalLost' : `call.media.status.${s}`;
    setText(status, statusKey ? t(statusKey) : '');
    status.dataset.state = s;
    status.dataset.gateway = call.gatewayState || '';
    renderNotices();
    renderSelf();
    renderRemote(s === 'connected');
  }

  // ---- the one speaking: audio energy of each remote audio stream (getStats, by mid) ----
  const SPEAK_RMS = 0.02;   // mean level over the last poll above which someone speaks
  const SPEAK_HOLD = 1000;  // ms the outline stays after the last loud poll (no flicker)
  const energy = new Map(); // stats id → {e, d} last totalAudioEnergy / totalSamplesDuration
  const spokeAt = new Map(); // user → time of the last loud poll
  let polling = false;
  async function pollSpeakers() {
    const pc = call.pc;
    if (polling || !pc || pc.connectionState === 'closed') { markSpeakers(); return; }
    polling = true;
    try {
      const report = await pc.getStats();
      const now = Date.now();
      report.forEach((r) => {
        if (r.type !== 'inbound-rtp' || r.kind !== 'audio' || !r.mid) return;
        const user = call.midTracks.get(r.mid)?.user;
        const e = r.totalAudioEnergy || 0;
        const d = r.totalSamplesDuration || 0;
        const prev = energy.get(r.id);
        energy.set(r.id, { e, d });
        let rms = r.audioLevel || 0;
        if (prev && d > prev.d) rms = Math.max(rms, Math.sqrt((e - prev.e) / (d - prev.d)));
        if (user && rms > SPEAK_RMS) spokeAt.set(user, now);
      });
    } catch { /* the connection went away: next time */ }
    polling = false;
    markSpeakers();
  }
  function markSpeakers() {
    const now = Date.now();
    for (const parts of tiles.values()) {
      if (parts.el.dataset.source !== 'camera') continue;
      const speaking = now - (spokeAt.get(parts.el.dataset.user) ?? -Infinity) < SPEAK_HOLD;
      parts.el.classList.toggle('is-speaking', speaking);
    }
  }
  const speakTimer = setInterval(pollSpeakers, 250);

  const onChange = () => render();
  call.addEventListener('change', onChange);
  render();

  return {
    el,
    render,
    destroy() {
      clearTimeout(recheck);
      clearInterval(speakTimer);
      call.removeEventListener('change', onChange);
      for (const a of audioEls.values()) a.srcObject = null;
      for (const parts of tiles.values()) parts.video.srcObject = null;
      selfVideo.srcObject = null;
    },
  };
}
