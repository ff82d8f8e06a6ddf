// views/precall.js — the pre-call check of the room view: our camera picture,
// a microphone level meter (Web Audio AnalyserNode, a bar redrawn with
// requestAnimationFrame) and a <select> each for the camera and the
// microphone (enumerateDevices). Changing a select re-acquires that device;
// the choice goes to ../call.js (devicePrefs), which opens those devices when
// the call starts. stop() releases everything (the call opens its own stream).
// Denied permission / no device: the messages of the call (call.media.*).

import { h, setChildren, setText } from '../dom.js';
import { t } from '../i18n.js';
import { devicePrefs, deviceReason } from '../call.js';

const CAMERA = { width: { ideal: 640 }, height: { ideal: 360 } };
let seq = 0;

export function createPrecall() {
  const id = `precall-${++seq}`;
  const title = h('h3', { id: `${id}-title`, class: 'precall-title' });
  const video = h('video', { class: 'precall-video is-mirrored', autoplay: true, playsinline: true, muted: true });
  video.muted = true;
  const camLabel = h('label', { for: `${id}-cam` });
  const micLabel = h('label', { for: `${id}-mic` });
  const camSelect = h('select', { id: `${id}-cam`, class: 'precall-select', dataset: { kind: 'videoinput' } });
  const micSelect = h('select', { id: `${id}-mic`, class: 'precall-select', dataset: { kind: 'audioinput' } });
  const levelLabel = h('span', { id: `${id}-level`, class: 'precall-level-label' });
  const bar = h('span', { class: 'precall-bar' });
  const meter = h('div', { class: 'precall-meter', role: 'meter', 'aria-labelledby': `${id}-level`,
    'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0', dataset: { level: '0' } }, bar);
  const message = h('p', { class: 'precall-message', role: 'status' });
  const hint = h('p', { class: 'precall-hint' });
  const el = h('section', { class: 'panel precall', 'aria-labelledby': `${id}-title` },
    title,
    h('div', { class: 'precall-body' },
      video,
      h('div', { class: 'precall-controls' },
        h('div', { class: 'precall-field' }, camLabel, camSelect),
        h('div', { class: 'precall-field' }, micLabel, micSelect),
        h('div', { class: 'precall-field' }, levelLabel, meter),
        message, hint)));

  let stream = null;     // camera + microphone of the preview
  let problem = null;    // {what, reason}
  let stopped = false;
  let audioCtx = null;
  let analyser = null;
  let source = null;
  let raf = 0;
  let buf = null;

  function relabel() {
    setText(title, t('precall.title'));
    setText(camLabel, t('precall.camera'));
    setText(micLabel, t('precall.mic'));
    setText(levelLabel, t('precall.level'));
    setText(hint, t('precall.hint'));
    renderProblem();
    fillSelects();
  }

  function renderProblem() {
    if (!problem) { setText(message, ''); message.hidden = true; return; }
    const key = problem.what === 'both' ? 'call.media.noDevices' : problem.what === 'camera' ? 'call.media.noCamera' : 'call.media.noMic';
    setText(message, t(key, { reason: t(`call.media.reason.${problem.reason}`) }));
    message.hidden = false;
  }

  const track = (kind) => stream?.getTracks().find((tr) => tr.kind === kind) || null;

  async function fillSelects() {
    let devices = [];
    try { devices = await navigator.mediaDevices.enumerateDevices(); } catch { /* none listed */ }
    if (stopped) return;
    for (const [select, kind, pref] of [[camSelect, 'videoinput', 'video'], [micSelect, 'audioinput', 'audio']]) {
      const list = devices.filter((d) => d.kind === kind && d.deviceId);
      const current = devicePrefs[pref] || track(pref)?.getSettings?.().deviceId || '';
      setChildren(select, list.map((d, i) => h('option', { value: d.deviceId, text: d.label || t('precall.device', { n: i + 1 }) })));
      if (list.some((d) => d.deviceId === current)) select.value = current;
      select.disabled = list.length === 0;
    }
  }

  /** Opens the camera and/or microphone (kinds: ['audio', 'video']); keeps what it did not reopen. */
  async function acquire(kinds) {
    const want = (kind) => (kinds.includes(kind)
      ? (kind === 'audio'
        ? (devicePrefs.audio ? { deviceId: { exact: devicePrefs.audio } } : true)
        : (devicePrefs.video ? { ...CAMERA, deviceId: { exact: devicePrefs.video } } : CAMERA))
      : false);
    const attempts = kinds.length === 2
      ? [{ audio: want('audio'), video: want('video') }, { audio: want('audio') }, { video: want('video') }]
      : [{ audio: want('audio'), video: want('video') }];
    let firstError = null;
    for (const c of attempts) {
      try {
        const got = await navigator.mediaDevices.getUserMedia(c);
        if (stopped) { got.getTracks().forEach((tr) => tr.stop()); return; }
        const keep = (stream?.getTracks() || []).filter((tr) => !got.getTracks().some((g) => g.kind === tr.kind));
        for (const tr of stream?.getTracks() || []) if (!keep.includes(tr)) tr.stop();
        stream = new MediaStream([...keep, ...got.getTracks()]);
        const missing = kinds.filter((k) => !got.getTracks().some((tr) => tr.kind === k));
        problem = missing.length ? { what: missing[0] === 'video' ? 'camera' : 'mic', reason: deviceReason(firstError) } : null;
        attach();
        return;
      } catch (err) {
        firstError = firstError || err;
        if (deviceReason(err) === 'denied') break;
      }
    }
    problem = { what: kinds.length === 2 ? 'both' : kinds[0] === 'video' ? 'camera' : 'mic', reason: deviceReason(firstError) };
    renderProblem();
  }

  function attach() {
    const cam = track('video');
    video.srcObject = cam ? new MediaStream([cam]) : null;
    video.classList.toggle('has-video', !!cam);
    if (cam) video.play().catch(() => {});
    startMeter(track('audio'));
    renderProblem();
    fillSelects(); // labels are known once permission was given
  }

  function startMeter(mic) {
    source?.disconnect();
    source = null;
    if (!mic) { cancelAnimationFrame(raf); raf = 0; draw(0); return; }
    try {
      audioCtx = audioCtx || new AudioContext();
      audioCtx.resume?.().catch(() => {});
      analyser = analyser || Object.assign(audioCtx.createAnalyser(), { fftSize: 1024 });
      buf = buf || new Float32Array(analyser.fftSize);
      source = audioCtx.createMediaStreamSource(new MediaStream([mic]));
      source.connect(analyser);
    } catch { return; }
    let shown = 0;
    const tick = () => {
      if (stopped) return;
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      const rms = Math.sqrt(sum / buf.length);
      const level = Math.min(100, Math.round(Math.sqrt(rms) * 140)); // roughly perceptual
      shown = Math.max(level, shown - 3); // falls back smoothly
      draw(shown);
      raf = requestAnimationFrame(tick);
    };
    cancelAnimationFrame(raf);
    raf = requestAnimationFrame(tick);
  }

  function draw(level) {
    bar.style.width = `${level}%`;
    meter.dataset.level = String(level);
    meter.setAttribute('aria-valuenow', String(level));
  }

  function onSelect(kind, select) {
    devicePrefs[kind] = select.value || null;
    acquire([kind]);
  }
  camSelect.addEventListener('change', () => onSelect('video', camSelect));
  micSelect.addEventListener('change', () => onSelect('audio', micSelect));
  const onDeviceChange = () => fillSelects();
  navigator.mediaDevices?.addEventListener?.('devicechange', onDeviceChange);

  relabel();
  if (navigator.mediaDevices?.getUserMedia) acquire(['audio', 'video']);
  else { problem = { what: 'both', reason: 'other' }; renderProblem(); }

  return {
    el,
    relabel,
    /** Releases the camera and microphone and the meter (the call opens its own). */
    stop() {
      if (stopped) return;
      stopped = true;
      cancelAnimationFrame(raf);
      navigator.mediaDevices?.removeEventListener?.('devicechange', onDeviceChange);
      source?.disconnect();
      audioCtx?.close().catch(() => {});
      stream?.getTracks().forEach((tr) => tr.stop());
      stream = null;
      video.srcObject = null;
    },
  };
}
