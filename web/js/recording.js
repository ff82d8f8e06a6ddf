// recording.js — recording a consultation (PROTOCOL.md "Recording"), the
// browser client's whole share of it: the room's recording bar (Record for
// the consult's specialist and coordinators, the red "recording" mark every
// participant sees, who is still to consent or is not recorded, Stop), the
// consent dialog for a participant whose answer is pending, the recordings in
// the consult's details (state in words, a player and a download once ready,
// through a short-lived link fetched with the session's Authorization header)
// and the badge the coordinator's cards show while a consult records
// (recordingBadge, rendered by views/coordinator.js).
//
// The room view does not know about it: app.js calls mount() when a view is
// mounted and update() after each render, and this module adds its own
// elements to the room's head (.call-head) and details (.case-panel), keeping
// them in step with the store. Its texts are registered here (addTexts),
// Russian first.

import { h, setChildren, setText, nextId, renderKeyed } from './dom.js';
import { t, getLang, fmtTime, fmtSize, addTexts } from './i18n.js';
import { errorText, announce } from './errors.js';
import { isActive, participantOf } from './store.js';
import { fetchAuthorized, AttachmentError } from './attachments.js';
import { safeFileName } from './documents.js';
import { actionButton, now } from './views/parts.js';
import { isAuthorOf } from './views/conclusion.js';

addTexts({
  ru: {
    'rec.record': 'Записать консультацию',
    'rec.stop': 'Остановить запись',
    'rec.withdraw': 'Отменить запрос записи',
    'rec.answer': 'Ответить на запрос записи',
    'rec.on': 'Идёт запись',
    'rec.asked': '{name} просит записать консультацию.',
    'rec.waiting': 'Ожидается согласие: {names}',
    'rec.notRecorded': 'Не записываются: {list}',
    'rec.who.refused': '{name} (отказ)',
    'rec.who.pending': '{name} (ожидается согласие)',
    'rec.refused': 'Запись не начата — не дали согласия: {names}.',
    'rec.answerLater': 'Вы ещё не ответили на запрос записи; пока вы не согласитесь, вас не записывают.',
    'rec.ann.stopped': 'Запись консультации остановлена.',
    'rec.ann.consented': 'Вы дали согласие на запись.',
    'rec.ann.refused': 'Вы отказались от записи.',
    'rec.ann.ready': 'Запись {n} готова к просмотру.',
    'rec.dlg.title': 'Запись консультации',
    'rec.dlg.asks': '{name} просит записать эту консультацию.',
    'rec.dlg.about': 'Запись шифруется и хранится вместе с консультацией. Её смогут просмотреть участники консультации и координаторы центра.',
    'rec.dlg.consent': 'Запись начнётся, когда согласятся все участники.',
    'rec.dlg.on': 'Запись уже идёт: пока вы не согласитесь, ваши видео и звук не записываются.',
    'rec.dlg.yes': 'Согласен',
    'rec.dlg.no': 'Не согласен',
    'rec.someone': 'Участник',
    'rec.files': 'Записи',
    'rec.file.title': 'Запись {n}',
    'rec.file.since': 'с {time}',
    'rec.st.recording': 'идёт запись',
    'rec.st.queued': 'в очереди',
    'rec.st.processing': 'обработка {n} %',
    'rec.st.ready': 'готово {duration}, {size}',
    'rec.st.failed': 'не удалось: {error}',
    'rec.st.failedNoReason': 'не удалось',
    'rec.incomplete': 'неполная',
    'rec.download': 'Скачать',
    'rec.downloadLabel': 'Скачать запись {n} (WebM, {size})',
    'rec.player': 'Запись {n} консультации',
    'rec.unavailable': 'Запись не открывается: {reason}',
    'rec.playFailed': 'Запись не воспроизводится. Обновите страницу и попробуйте снова.',
    'rec.fileName': 'запись-{patient}-{date}',
    'rec.badge': 'запись',
    'rec.badgeTitle': 'Идёт запись консультации',
    'err.recording.start.forbidden': 'Запросить запись могут консультант этой консультации и координаторы центра.',
    'err.recording.start.wrong_state': 'Запись можно запросить, только пока консультация идёт и запись ещё не запрошена.',
    'err.recording.start.unavailable': 'Запись консультаций на этом сервере отключена.',
    'err.recording.start.unsupported': 'Запись консультаций на этом сервере отключена.',
    'err.recording.start.limit': 'У этой консультации уже столько записей, сколько разрешено.',
    'err.recording.consent.forbidden': 'Отвечать на запрос записи могут только участники консультации.',
    'err.recording.consent.wrong_state': 'Ответ не нужен: запрос записи снят или вы уже ответили.',
    'err.recording.stop.forbidden': 'Остановить запись могут участники консультации и координаторы центра.',
    'err.recording.stop.wrong_state': 'Запись уже остановлена.',
  },
  en: {
    'rec.record': 'Record the consultation',
    'rec.stop': 'Stop recording',
    'rec.withdraw': 'Withdraw the recording request',
    'rec.answer': 'Answer the recording request',
    'rec.on': 'Recording',
    'rec.asked': '{name} asks to record the consultation.',
    'rec.waiting': 'Waiting for consent: {names}',
    'rec.notRecorded': 'Not recorded: {list}',
    'rec.who.refused': '{name} (refused)',
    'rec.who.pending': '{name} (consent pending)',
    'rec.refused': 'Not recorded — no consent from: {names}.',
    'rec.answerLater': 'You have not answered the recording request; until you consent, you are not recorded.',
    'rec.ann.stopped': 'Recording of the consultation stopped.',
    'rec.ann.consented': 'You consented to the recording.',
    'rec.ann.refused': 'You refused the recording.',
    'rec.ann.ready': 'Recording {n} is ready to watch.',
    'rec.dlg.title': 'Recording the consultation',
    'rec.dlg.asks': '{name} asks to record this consultation.',
    'rec.dlg.about': 'The recording is encrypted and kept with the consultation. The consultation’s participants and the centre’s coordinators will be able to watch it.',
    'rec.dlg.consent': 'Recording starts when every participant has consented.',
    'rec.dlg.on': 'Recording is under way: until you consent, your video and sound are not recorded.',
    'rec.dlg.yes': 'I consent',
    'rec.dlg.no': 'I do not consent',
    'rec.someone': 'A participant',
    'rec.files': 'Recordings',
    'rec.file.title': 'Recording {n}',
    'rec.file.since': 'since {time}',
    'rec.st.recording': 'recording',
    'rec.st.queued': 'queued',
    'rec.st.processing': 'processing {n} %',
    'rec.st.ready': 'ready {duration}, {size}',
    'rec.st.failed': 'failed: {error}',
    'rec.st.failedNoReason': 'failed',
    'rec.incomplete': 'incomplete',
    'rec.download': 'Download',
    'rec.downloadLabel': 'Download recording {n} (WebM, {size})',
    'rec.player': 'Recording {n} of the consultation',
    'rec.unavailable': 'The recording cannot be opened: {reason}',
    'rec.playFailed': 'The recording does not play. Reload the page and try again.',
    'rec.fileName': 'recording-{patient}-{date}',
    'rec.badge': 'recording',
    'rec.badgeTitle': 'The consultation is being recorded',
    'err.recording.start.forbidden': 'Only the consultation’s specialist and the centre’s coordinators may ask to record it.',
    'err.recording.start.wrong_state': 'Recording can be asked for only while the consultation is under way and not already asked for.',
    'err.recording.start.unavailable': 'Recording is disabled on this server.',
    'err.recording.start.unsupported': 'Recording is disabled on this server.',
    'err.recording.start.limit': 'This consultation already has as many recordings as it may have.',
    'err.recording.consent.forbidden': 'Only the consultation’s participants answer a recording request.',
    'err.recording.consent.wrong_state': 'No answer is needed: the request was withdrawn or you have already answered.',
    'err.recording.stop.forbidden': 'Only the consultation’s participants and the centre’s coordinators may stop the recording.',
    'err.recording.stop.wrong_state': 'The recording has already stopped.',
  },
});

const FILE_ICON = { recording: '●', queued: '◷', processing: '◔', ready: '✓', failed: '⚠' };
const LINK_MARGIN_MS = 30000; // a link this close to its expiry is fetched again before use

/** The red dot of the recording mark (decorative: the words beside it say it). */
const recDot = (cls) => h('span', { class: [cls, 'rec-dot'], 'aria-hidden': 'true', text: '●' });
const two = (n) => String(n).padStart(2, '0');

// ---- reading the consult's `recording` (defensively: a newer or older server) -------------

/** The consult's recording object, or null when nobody asked. */
export const recordingOf = (c) => (c && c.recording && typeof c.recording === 'object' ? c.recording : null);

/** off | consent | on; anything but a consult under way is off. */
export function recordingState(c) {
  const s = recordingOf(c)?.state;
  return c && isActive(c) && (s === 'consent' || s === 'on') ? s : 'off';
}

const consentsOf = (r) => (Array.isArray(r?.consents) ? r.consents.filter((x) => x && typeof x.subject === 'string') : []);
/** The recorded files, oldest first. */
export const filesOf = (c) => {
  const list = recordingOf(c)?.files;
  return Array.isArray(list) ? list.filter((f) => f && typeof f.id === 'string' && f.id) : [];
};
const nameOf = (x) => x?.name || x?.subject || t('rec.someone');

/** This user's answer (pending | given | refused), or null when not asked. */
export function myAnswer(c, user) {
  if (!user) return null;
  return consentsOf(recordingOf(c)).find((x) => x.subject === user.subject)?.answer || null;
}

const isCoordinator = (user) => user?.role === 'coordinator';

/** Record: the consult's specialist or a coordinator, while it is under way and not recording. */
export function mayRequest(c, user) {
  if (!c || !user || c.state !== 'in_progress' || recordingState(c) !== 'off') return false;
  return isCoordinator(user) || (user.role === 'specialist' && isAuthorOf(c, user));
}

/** Stop (or withdraw the request): participants and coordinators. */
export function mayStop(c, user) {
  return recordingState(c) !== 'off' && (isCoordinator(user) || !!participantOf(c, user));
}

/** The recordings list: participants and coordinators. */
export const maySeeFiles = (c, user) => !!c && !!user && (isCoordinator(user) || !!participantOf(c, user));

/** Who is asked to consent and has not answered. */
const pendingOf = (c) => consentsOf(recordingOf(c)).filter((x) => x.answer === 'pending');

/** This user, a participant, is asked while a request or recording is on and has not answered. */
const awaitsAnswer = (c, user) => recordingState(c) !== 'off' && myAnswer(c, user) === 'pending' && !!participantOf(c, user);

/** The names of the refusals that ended the last request, when it never started a file. */
function refusalsOfLastRequest(c) {
  const r = recordingOf(c);
  if (!r || r.state !== 'off') return [];
  const last = filesOf(c).at(-1);
  if (last && (last.started_at ?? 0) >= (r.requested_at ?? 0)) return [];
  return consentsOf(r).filter((x) => x.answer === 'refused' && (x.at ?? 0) >= (r.requested_at ?? 0)).map(nameOf);
}

/** "12:34" or "1:02:03" from milliseconds. */
export function fmtClock(ms) {
  const s = Math.max(0, Math.round(Number(ms) / 1000) || 0);
  const hours = Math.floor(s / 3600);
  return hours ? `${hours}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}` : `${Math.floor(s / 60)}:${two(s % 60)}`;
}

const errorOf = (f) => (typeof f.error === 'string' ? f.error.trim() : '');

/** A file's state in words: {state, text}. */
export function fileWords(f) {
  const error = errorOf(f);
  switch (f.state) {
    case 'recording': return { state: f.state, text: t('rec.st.recording') };
    case 'queued': return { state: f.state, text: t('rec.st.queued') };
    case 'processing': {
      const n = Math.min(100, Math.max(0, Math.round(Number(f.progress) || 0)));
      return { state: f.state, text: t('rec.st.processing', { n }) };
    }
    case 'ready': return { state: f.state, text: t('rec.st.ready', { duration: fmtClock(f.duration_ms), size: fmtSize(f.size) }) };
    case 'failed': return { state: f.state, text: error ? t('rec.st.failed', { error }) : t('rec.st.failedNoReason') };
    default: return { state: 'unknown', text: String(f.state || '') };
  }
}

// ---- playable links (GET /api/recordings/<id>/link, with the Authorization header) ---------

const links = new Map(); // file id → Promise<{url, expiresAt}>
const stale = (link) => !link || link.expiresAt - now() <= LINK_MARGIN_MS;

async function fetchLink(id) {
  const blob = await fetchAuthorized(`/api/recordings/${encodeURIComponent(id)}/link`);
  let body = null;
  try { body = JSON.parse(await blob.text()); } catch { /* checked below */ }
  // Only a URL of this gateway's recordings: nothing else goes into a src or href.
  if (typeof body?.url !== 'string' || !body.url.startsWith('/api/recordings/')) throw new AttachmentError('http', 200);
  const expiresAt = Number(body.expires_at);
  return { url: body.url, expiresAt: Number.isFinite(expiresAt) ? expiresAt : now() + 5 * 60000 };
}

/** A link to play or download file id that is valid for a while yet (fresh: a new one anyway). */
export async function recordingLink(id, { fresh = false } = {}) {
  const cached = links.get(id);
  if (cached && !fresh) {
    const link = await cached.catch(() => null);
    if (!stale(link)) return link;
  }
  const p = fetchLink(id);
  links.set(id, p);
  p.catch(() => { if (links.get(id) === p) links.delete(id); });
  return p;
}

// ---- the room's bar: mark, who is asked, buttons ---------------------------------------

function createBar(ctx, consultId, dialog) {
  const mark = h('p', { class: 'rec-mark', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const info = h('div', { class: 'rec-info', 'aria-live': 'polite' });
  const actions = h('div', { class: 'rec-actions' });
  const el = h('div', { class: 'rec-bar visually-hidden', dataset: { consult: consultId, state: 'off' } }, mark, info, actions);
  let shownState = null;

  function lines(c, state) {
    if (!c) return [];
    const r = recordingOf(c);
    const out = [];
    if (state === 'consent') {
      out.push(t('rec.asked', { name: nameOf(r.requested_by) }));
      const names = pendingOf(c).map(nameOf);
      if (names.length) out.push(t('rec.waiting', { names: names.join(', ') }));
    } else if (state === 'on') {
      const left = consentsOf(r).filter((x) => x.answer !== 'given')
        .map((x) => t(x.answer === 'refused' ? 'rec.who.refused' : 'rec.who.pending', { name: nameOf(x) }));
      if (left.length) out.push(t('rec.notRecorded', { list: left.join(', ') }));
    } else {
      const refused = refusalsOfLastRequest(c);
      if (refused.length && c.state === 'in_progress') out.push(t('rec.refused', { names: refused.join(', ') }));
    }
    if (state !== 'off' && myAnswer(c, ctx.user) === 'pending' && !dialog.isOpen(consultId)) out.push(t('rec.answerLater'));
    return out;
  }

  function buttons(c, state) {
    if (!c) return [];
    const user = ctx.user;
    const out = [];
    if (awaitsAnswer(c, user) && !dialog.isOpen(consultId)) {
      out.push({ key: 'answer', label: 'rec.answer', variant: 'primary', run: async () => dialog.reopen(consultId) });
    }
    if (mayRequest(c, user)) {
      out.push({ key: 'record', label: 'rec.record', variant: 'secondary', dot: true, run: () => ctx.act('recording.start', { consult_id: consultId }) });
    }
    if (mayStop(c, user)) {
      out.push({ key: 'stop', label: state === 'on' ? 'rec.stop' : 'rec.withdraw', variant: state === 'on' ? 'danger' : 'secondary', run: () => ctx.act('recording.stop', { consult_id: consultId }) });
    }
    return out;
  }

  function update() {
    const c = ctx.store.get(consultId);
    const state = recordingState(c);
    if (shownState === 'on' && state === 'off') announce(t('rec.ann.stopped'));
    shownState = state;
    const text = lines(c, state);
    const btns = buttons(c, state);
    const sig = `${getLang()}|${state}|${text.join('\n')}|${btns.map((b) => `${b.key}:${b.label}`).join(',')}`;
    if (el.dataset.sig === sig) return;
    el.dataset.sig = sig;
    el.dataset.state = state;
    // The live regions stay in the page (only visually hidden when empty), so the mark is spoken when it appears.
    el.classList.toggle('visually-hidden', state !== 'on' && !text.length && !btns.length);
    setChildren(mark, state === 'on' ? [recDot(), ' ', t('rec.on')] : []);
    setChildren(info, text.map((s) => h('p', { class: 'rec-line', text: s })));
    const focusName = actions.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
    setChildren(actions, btns.map((b) => {
      const btn = actionButton(t(b.label), b.run, { variant: b.variant, focusName: `rec-${b.key}` });
      btn.classList.add('btn-small', `rec-${b.key}`);
      if (b.dot) btn.prepend(recDot());
      return btn;
    }));
    // Record becomes Withdraw, Stop becomes Record: the focus moves to what took its place.
    if (focusName) (actions.querySelector(`[data-focus="${focusName}"]`) || actions.querySelector('button'))?.focus();
  }

  return { el, update };
}

// ---- the recordings in the consult's details ---------------------------------------------

function createPlayer(file) {
  const video = h('video', { class: 'rec-video', controls: true, preload: 'metadata', playsinline: true });
  const download = h('a', { class: ['btn', 'btn-secondary', 'btn-small', 'rec-download'], dataset: { focus: 'download' } });
  const problem = h('p', { class: 'rec-problem', role: 'alert', hidden: true });
  const el = h('div', { class: 'rec-player' }, video, h('div', { class: 'rec-player-actions' }, download), problem);
  let link = null;
  let loading = null;
  let retriedAt = 0;
  let clicking = false;

  function showProblem(text) {
    problem.hidden = !text;
    setText(problem, text || '');
  }

  /** Fetches a link (again when fresh) and points the player and the download at it, keeping the position. */
  function load({ fresh = false } = {}) {
    if (loading) return loading;
    loading = (async () => {
      try {
        const next = await recordingLink(file.id, { fresh });
        showProblem('');
        if (!link || next.url !== link.url || video.error) {
          const at = video.currentTime;
          const playing = !video.paused && !video.ended;
          link = next;
          video.src = link.url;
          if (at > 0 || playing) {
            video.addEventListener('loadedmetadata', () => {
              if (at > 0) video.currentTime = at;
              if (playing) video.play().catch(() => {});
            }, { once: true });
          }
        } else {
          link = next;
        }
        download.href = link.url;
      } catch (err) {
        showProblem(t('rec.unavailable', { reason: errorText(err, 'download') }));
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  video.addEventListener('play', () => { if (link && stale(link)) load({ fresh: true }); });
  video.addEventListener('error', () => {
    if (!link) return;
    // Most often an expired link; one fresh try, then say so.
    if (Date.now() - retriedAt > 10000) {
      retriedAt = Date.now();
      load({ fresh: true });
    } else {
      showProblem(t('rec.playFailed'));
    }
  });
  download.addEventListener('click', async (e) => {
    if (clicking || (link && !stale(link))) return;
    e.preventDefault();
    await load({ fresh: !!link });
    if (!link || !download.href) return;
    clicking = true;
    try { download.click(); } finally { clicking = false; }
  });

  return {
    el,
    load,
    relabel({ label, downloadLabel, fileName }) {
      video.setAttribute('aria-label', label);
      download.setAttribute('download', fileName);
      download.setAttribute('aria-label', downloadLabel);
      setChildren(download, h('span', { 'aria-hidden': 'true', text: '⤓' }), t('rec.download'));
    },
    destroy() {
      video.pause();
      video.removeAttribute('src');
      video.load();
    },
  };
}

function createFileList(ctx, consultId) {
  const uid = nextId('rec');
  const title = h('h4', { id: `${uid}-title`, class: 'rec-files-title' });
  const list = h('ol', { class: 'rec-files' });
  const el = h('section', { class: 'rec-files-panel', 'aria-labelledby': `${uid}-title`, hidden: true }, title, list);
  const players = new Map(); // file id → player, kept while its row is rebuilt
  const seen = new Map();    // file id → last state shown, to announce "ready" once
  // A link is fetched (and audited) only when a player comes into view.
  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      observer.unobserve(e.target);
      players.get(e.target.dataset.file)?.load();
    }
  });

  function playerFor(c, f, n) {
    let p = players.get(f.id);
    if (!p) {
      p = createPlayer(f);
      p.el.dataset.file = f.id;
      players.set(f.id, p);
      observer.observe(p.el);
    }
    const d = new Date(f.started_at || now());
    const date = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}`;
    p.relabel({
      label: t('rec.player', { n }),
      downloadLabel: t('rec.downloadLabel', { n, size: fmtSize(f.size) }),
      fileName: safeFileName(t('rec.fileName', { patient: c.patient?.name || '', date }), 'webm'),
    });
    return p;
  }

  function row(c, f, n) {
    const w = fileWords(f);
    const n0 = now();
    const span = !f.started_at ? ''
      : f.stopped_at ? `${fmtTime(f.started_at, n0)}–${fmtTime(f.stopped_at, n0)}` : t('rec.file.since', { time: fmtTime(f.started_at, n0) });
    const error = errorOf(f);
    return h('li', { class: ['rec-file', `rec-file-${w.state}`], dataset: { state: w.state } },
      h('p', { class: 'rec-file-head' }, h('strong', { text: t('rec.file.title', { n }) }), span ? ` · ${span}` : ''),
      h('p', { class: 'rec-file-state' },
        h('span', { class: 'rec-file-icon', 'aria-hidden': 'true', text: FILE_ICON[w.state] || '•' }), ' ',
        h('span', { class: 'rec-state-text', text: w.text })),
      f.state === 'processing' ? h('progress', { class: 'rec-progress', max: '100', value: String(Number(f.progress) || 0), 'aria-hidden': 'true' }) : null,
      f.incomplete ? h('p', { class: 'rec-incomplete' },
        h('span', { class: ['badge', 'rec-incomplete-badge'] }, h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '⚠' }), t('rec.incomplete')),
        error && f.state !== 'failed' ? h('span', { class: 'rec-incomplete-text', text: error }) : null) : null,
      f.state === 'ready' ? playerFor(c, f, n).el : null);
  }

  function update() {
    const c = ctx.store.get(consultId);
    const files = filesOf(c);
    const show = maySeeFiles(c, ctx.user) && files.length > 0;
    el.hidden = !show;
    setText(title, t('rec.files'));
    const items = show ? files.map((f, i) => ({ f, n: i + 1 })) : [];
    for (const { f, n } of items) {
      const before = seen.get(f.id);
      if (before && before !== 'ready' && f.state === 'ready') announce(t('rec.ann.ready', { n }));
      seen.set(f.id, f.state);
    }
    renderKeyed(list, items, {
      key: (x) => x.f.id,
      render: (x) => row(c, x.f, x.n),
      signature: (x) => `${getLang()}|${x.n}|${JSON.stringify(x.f)}`,
    });
  }

  return {
    el,
    update,
    destroy() {
      observer.disconnect();
      for (const p of players.values()) p.destroy();
      players.clear();
    },
  };
}

// ---- the consent dialog -------------------------------------------------------------------

function createConsentDialog(ctx, { onUserClose }) {
  let dlg = null;
  let shownFor = null;      // the consult id asked about, while open
  let shownSig = '';
  let busy = false;
  let opener = null;
  const later = new Set();  // `${consult id}|${requested_at}` the user closed without answering

  const keyOf = (c) => `${c.id}|${recordingOf(c)?.requested_at ?? ''}`;
  const needs = (c) => awaitsAnswer(c, ctx.user);

  function element() {
    if (dlg) return dlg;
    dlg = document.getElementById('recording-dialog');
    if (!dlg) {
      dlg = h('dialog', { id: 'recording-dialog', class: 'dialog dialog-recording' });
      document.body.append(dlg);
    }
    dlg.addEventListener('keydown', trapTab);
    // Our own closes forget the consult first; one still remembered here was the user's
    // Esc: it is answered later, from the bar ("Answer the recording request").
    dlg.addEventListener('close', () => {
      if (!shownFor || dlg.open) return;
      finish(true);
      onUserClose();
    });
    return dlg;
  }

  function finish(byUser) {
    const c = byUser ? ctx.store.get(shownFor) : null;
    if (c) later.add(keyOf(c));
    shownFor = null;
    shownSig = '';
    const back = opener;
    opener = null;
    if (back && back.isConnected && back !== document.body) back.focus();
  }

  /** Tab and Shift+Tab go round the dialog's buttons and never leave it. */
  function trapTab(e) {
    if (e.key !== 'Tab') return;
    const items = [...dlg.querySelectorAll('button')].filter((b) => !b.hidden);
    if (!items.length) return;
    const i = items.indexOf(document.activeElement);
    const next = e.shiftKey ? (i <= 0 ? items.length - 1 : i - 1) : (i < 0 || i === items.length - 1 ? 0 : i + 1);
    e.preventDefault();
    items[next].focus();
  }

  function render(c) {
    const r = recordingOf(c);
    const state = recordingState(c);
    const sig = `${getLang()}|${state}|${nameOf(r.requested_by)}`;
    if (sig === shownSig) return;
    shownSig = sig;
    const focused = dlg.contains(document.activeElement) ? document.activeElement.dataset.answer : null;
    const error = h('p', { id: 'recording-dialog-error', class: 'field-error', role: 'alert', hidden: true });
    const no = h('button', { type: 'button', class: 'btn btn-secondary', dataset: { answer: 'no' }, on: { click: () => answer(false, error) } }, t('rec.dlg.no'));
    const yes = h('button', { type: 'button', class: 'btn btn-primary', dataset: { answer: 'yes' }, on: { click: () => answer(true, error) } }, t('rec.dlg.yes'));
    setChildren(dlg,
      h('div', { class: 'dialog-body' },
        h('h2', { id: 'recording-dialog-title' },
          recDot(), ' ', t('rec.dlg.title')),
        h('div', { id: 'recording-dialog-text', class: 'rec-dialog-text' },
          h('p', { class: 'rec-dialog-asks', text: t('rec.dlg.asks', { name: nameOf(r.requested_by) }) }),
          h('p', { text: t('rec.dlg.about') }),
          h('p', { class: 'hint', text: t(state === 'on' ? 'rec.dlg.on' : 'rec.dlg.consent') })),
        error,
        h('div', { class: 'dialog-actions' }, no, yes)));
    dlg.setAttribute('aria-labelledby', 'recording-dialog-title');
    dlg.setAttribute('aria-describedby', 'recording-dialog-text');
    (focused === 'yes' ? yes : no).focus();
  }

  function open(c) {
    element();
    opener = document.activeElement;
    shownFor = c.id;
    shownSig = '';
    if (!dlg.open) dlg.showModal();
    render(c); // the refusal has the focus: privacy is the safe choice
  }

  function close() {
    if (!shownFor) return;
    finish(false);
    if (dlg?.open) dlg.close();
  }

  async function answer(consent, error) {
    if (busy || !shownFor) return;
    const consultId = shownFor;
    busy = true;
    dlg.setAttribute('aria-busy', 'true');
    error.hidden = true;
    try {
      const reply = await ctx.request('recording.consent', { consult_id: consultId, consent });
      ctx.store.apply(reply);
      announce(t(consent ? 'rec.ann.consented' : 'rec.ann.refused'));
      close();
    } catch (err) {
      if (err.code === 'wrong_state') { close(); ctx.sync(); return; }
      error.textContent = errorText(err, 'recording.consent');
      error.hidden = false;
    } finally {
      busy = false;
      dlg?.removeAttribute('aria-busy');
    }
  }

  return {
    isOpen: (consultId) => shownFor === consultId && !!dlg?.open,
    /** Opens, keeps or closes the dialog for the room on screen (null: none). */
    update(roomId) {
      const c = roomId ? ctx.store.get(roomId) : null;
      if (shownFor && (shownFor !== roomId || !c || !needs(c))) close();
      else if (shownFor) render(c);
      if (!shownFor && c && needs(c) && !later.has(keyOf(c))) open(c);
    },
    reopen(consultId) {
      const c = ctx.store.get(consultId);
      if (!c || !needs(c)) return;
      later.delete(keyOf(c));
      open(c);
    },
    close,
  };
}

// ---- the coordinator's cards ----------------------------------------------------------------

/** "● recording" on a consult card, or null while it does not record. */
export function recordingBadge(c) {
  if (recordingState(c) !== 'on') return null;
  return h('span', { class: ['badge', 'rec-badge'], title: t('rec.badgeTitle'), dataset: { lang: getLang() } },
    recDot('badge-icon'), t('rec.badge'));
}

// ---- what app.js calls -----------------------------------------------------------------------

/**
 * The recording UI over the room view: mount(kind, view) when app.js mounts a
 * view (kind 'call' with view.consultId and view.el; others have no bar),
 * update() after every render, reset() at sign-out (links forgotten).
 */
export function createRecordingUi(ctx) {
  const dialog = createConsentDialog(ctx, { onUserClose: () => update() });
  let room = null; // {consultId, bar, files}

  function unmountRoom() {
    if (!room) return;
    room.bar.el.remove();
    room.files.el.remove();
    room.files.destroy();
    room = null;
  }

  function update() {
    dialog.update(room ? room.consultId : null); // first: whether it is open changes what the bar offers
    if (room) {
      room.bar.update();
      room.files.update();
    }
  }

  return {
    mount(nextKind, view) {
      unmountRoom();
      const root = view?.el;
      if (nextKind === 'call' && view?.consultId && root) {
        const head = root.querySelector('.call-head');
        const details = root.querySelector('.case-panel');
        room = { consultId: view.consultId, bar: createBar(ctx, view.consultId, dialog), files: createFileList(ctx, view.consultId) };
        head?.append(room.bar.el);
        details?.append(room.files.el);
      }
      update();
    },
    update,
    reset() {
      unmountRoom();
      dialog.close();
      links.clear();
    },
  };
}
