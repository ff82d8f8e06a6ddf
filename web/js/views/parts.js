// views/parts.js — pieces shared by the role views: badges (urgency, state,
// escalation, presence: always text plus a shape, never colour alone), the
// deadline countdown, the consult summary, participants with presence, what
// a card shows of a consult's files, chat and conclusion, buttons that lock
// while their request runs, and the modal dialogs.

import { h, setChildren, setText } from '../dom.js';
import { t, tn, fmtTime, fmtDate, fmtAge, fmtDuration, specialtyLabel, getLang } from '../i18n.js';
import { isQueued } from '../store.js';
import { attachmentStrip } from './attachment-parts.js';

const URGENCY_ICON = { emergency: '▲', urgent: '◆', planned: '●' };
const PRESENCE_ICON = { available: '●', busy: '◐', away: '○', offline: '×' };

export function urgencyBadge(urgency) {
  return h('span', { class: ['badge', `urgency-${urgency}`] },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: URGENCY_ICON[urgency] || '•' }),
    t(`urgency.${urgency}`));
}

export function stateBadge(state) {
  return h('span', { class: ['badge', 'state', `state-${state}`] }, t(`state.${state}`));
}

export function escalationBadge(escalation) {
  if (!escalation || escalation === 'none') return null;
  return h('span', { class: ['badge', `esc-${escalation}`] },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: escalation === 'overdue' ? '⚠' : '!' }),
    t(`esc.${escalation}`));
}

export function presenceBadge(status) {
  return h('span', { class: ['badge', 'presence', `presence-${status}`] },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: PRESENCE_ICON[status] || '•' }),
    t(`presence.${status}`));
}

export function modeBadge(mode) {
  return h('span', { class: ['badge', 'mode'] }, t(`mode.${mode}.short`));
}

// ---- deadline countdown -------------------------------------------------------

let nowFn = () => Date.now();

/** The server-corrected clock the countdowns use. */
export function setClock(fn) { nowFn = fn; }
export function now() { return nowFn(); }

/**
 * A countdown to a queued consult's acceptance deadline. role="timer" is not
 * spoken on every change (that would be noise with a dozen rows); crossing the
 * deadline is announced by the app and shown by the escalation badge.
 */
export function deadlineEl(c) {
  if (!isQueued(c) || !c.deadline_at) return null;
  const el = h('p', { class: 'countdown', role: 'timer', dataset: { deadline: String(c.deadline_at) } });
  updateCountdown(el);
  return el;
}

function updateCountdown(el) {
  const deadline = Number(el.dataset.deadline);
  const left = deadline - now();
  const time = fmtTime(deadline, now());
  el.classList.toggle('is-past', left <= 0);
  el.classList.toggle('is-soon', left > 0 && left < 15 * 60000);
  setText(el, left > 0 ? t('c.acceptBy', { time, left: fmtDuration(left) }) : t('c.overdue', { time, ago: fmtDuration(-left) }));
}

/** "waiting 12 min" since the request was made (kept fresh by tickCountdowns). */
export function waitingEl(c) {
  return h('span', { class: 'waiting', dataset: { since: String(c.created_at) }, text: t('c.waiting', { dur: fmtDuration(now() - c.created_at) }) });
}

/** Called every second by the app: refreshes every countdown and "waiting" text on the page. */
export function tickCountdowns(root = document) {
  for (const el of root.querySelectorAll('[data-deadline]')) updateCountdown(el);
  for (const el of root.querySelectorAll('[data-since]')) setText(el, t('c.waiting', { dur: fmtDuration(now() - Number(el.dataset.since)) }));
}

// ---- consult summary ------------------------------------------------------------

export function patientLine(c) {
  const p = c.patient || {};
  const age = fmtAge(p.birth_date, now());
  return h('p', { class: 'patient' },
    h('strong', { class: 'patient-name', text: p.name || '—' }),
    h('span', { class: 'patient-meta' },
      age ? t('c.age', { age }) : null,
      age ? ' · ' : null,
      t('c.born', { date: fmtDate(p.birth_date) }),
      ' · ', h('span', { class: 'patient-id', text: p.id || '' })));
}

/** Centre-related line: "from centre X" for routed-in consults, "Routed to Y" for routed-out ones. */
export function centreLine(c, user) {
  const parts = [];
  if (user && c.tenant && c.tenant !== user.tenant) parts.push(t('c.fromCentre', { tenant: c.tenant }));
  if (c.routed_to && (!user || c.routed_to !== user.tenant)) parts.push(t('c.routedTo', { tenant: c.routed_to }));
  return parts.length ? h('p', { class: 'meta', text: parts.join(' · ') }) : null;
}

export function timesLine(c) {
  const n = now();
  const bits = [t('c.requestedAt', { time: fmtTime(c.created_at, n) })];
  if (c.accepted_at) bits.push(t('c.acceptedAt', { time: fmtTime(c.accepted_at, n) }));
  if (c.started_at) bits.push(t('c.startedAt', { time: fmtTime(c.started_at, n) }));
  if (c.ended_at) bits.push(t('c.endedAt', { time: fmtTime(c.ended_at, n) }));
  return h('p', { class: 'meta', text: bits.join(' · ') });
}

/** The head of a consult card: urgency, specialty, state, mode, escalation,
 *  and any extra badges the view adds (e.g. recording). */
export function consultHead(c, { headingLevel = 3, showState = true, extra = [] } = {}) {
  return h('div', { class: 'card-head' },
    h(`h${headingLevel}`, { class: 'card-title' }, specialtyLabel(c.specialty)),
    h('div', { class: 'badges' },
      urgencyBadge(c.urgency),
      showState ? stateBadge(c.state) : null,
      modeBadge(c.mode),
      escalationBadge(isQueued(c) ? c.escalation : null),
      ...extra));
}

export function reasonBlock(c, { clamp = true } = {}) {
  return h('div', { class: 'reason' },
    h('span', { class: 'reason-label', text: t('c.reason') }),
    h('p', { class: ['reason-text', clamp ? 'is-clamped' : ''], text: c.reason || '' }));
}

export function participantsList(c, user) {
  return h('ul', { class: 'participants' }, (c.participants || []).map((p) => {
    const me = user && p.subject === user.subject && p.tenant === user.tenant;
    let status;
    if (p.present) status = t('p.present');
    else if (p.left_at) status = t('p.left', { time: fmtTime(p.left_at, now()) });
    else status = t('p.notJoined');
    return h('li', { class: ['participant', p.present ? 'is-present' : 'is-absent'] },
      h('span', { class: 'presence-dot', 'aria-hidden': 'true', text: p.present ? '●' : '○' }),
      h('span', { class: 'participant-name' }, p.name || p.subject, me ? ` ${t('p.you')}` : ''),
      h('span', { class: 'participant-role', text: t(`role.${p.role}`) }),
      h('span', { class: 'participant-status', text: status }));
  }));
}

// ---- files, chat and conclusion on a card ---------------------------------------------

/** The files attached to the request (thumbnails, PDF links), labelled; null when none. */
export function requestFiles(c) {
  const strip = attachmentStrip(c.attachments, { label: t('att.requestFiles') });
  return strip ? h('div', { class: 'card-files' }, h('span', { class: 'reason-label', text: t('att.requestFiles') }), strip) : null;
}

/** "Conclusion signed by … at …" / "Conclusion: draft v2 (14:05)" from the consult's summary. */
export function conclusionSummaryText(c) {
  const s = c?.conclusion;
  if (!s) return '';
  if (s.status === 'signed') return t('concl.summary.signed', { name: s.author?.name || c.specialist?.name || '', time: fmtTime(s.signed_at, now()) });
  // A draft over a signed version: its amendment (the signed document stands meanwhile).
  if (s.document) return t('concl.summary.amending', { signed: s.document.version, version: s.version, time: fmtTime(s.updated_at, now()) });
  return t('concl.summary.draft', { version: s.version, time: fmtTime(s.updated_at, now()) });
}

export function conclusionLine(c) {
  if (!c?.conclusion) return null;
  const signed = c.conclusion.status === 'signed';
  return h('p', { class: ['meta', 'concl-line', signed ? 'is-signed' : c.conclusion.document ? 'is-amending' : 'is-draft'] },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: signed ? '✓' : '✎' }), ' ', conclusionSummaryText(c));
}

/** "2 new messages" on a card, or null. */
export function unreadBadge(n) {
  if (!n) return null;
  return h('span', { class: ['badge', 'badge-unread'] },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '✉' }), tn('chat.unreadBadge', n));
}

/** Button to the case view (#/call/<id>): "Conclusion" once signed, else "Open case". */
export function caseButton(ctx, c, { write = false } = {}) {
  const signed = c.conclusion?.status === 'signed' || !!c.conclusion?.document; // an amendment's draft: the signed one stands
  const key = signed ? 'act.conclusion' : write ? 'act.writeConclusion' : 'act.openCase';
  return actionButton(t(key), async () => ctx.navigate(`#/call/${c.id}`),
    { variant: 'secondary', focusName: 'case', ariaLabel: t('act.for', { action: t(key), patient: c.patient?.name || '' }) });
}

/** A signature of what a row shows: re-render when the consult, language or minute changes. */
export function sig(c, extra = '') {
  return `${getLang()}|${c.updated_at}|${JSON.stringify(c)}|${extra}`;
}

// ---- buttons ----------------------------------------------------------------------

/**
 * A button whose action returns a promise: it is disabled (and says so) while
 * the request runs. focusName lets a re-rendered list give the focus back.
 */
export function actionButton(label, action, { variant = 'secondary', focusName, describedBy, ariaLabel } = {}) {
  const btn = h('button', {
    type: 'button', class: ['btn', `btn-${variant}`],
    dataset: focusName ? { focus: focusName } : undefined,
    'aria-describedby': describedBy, 'aria-label': ariaLabel,
  }, label);
  btn.addEventListener('click', async () => {
    if (btn.disabled) return;
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
    try {
      await action();
    } finally {
      btn.disabled = false;
      btn.removeAttribute('aria-busy');
    }
  });
  return btn;
}

// ---- dialogs ------------------------------------------------------------------------

function dialogEl() {
  return document.getElementById('dialog');
}

/** A modal yes/no question; resolves true when confirmed. The safe choice has the focus. */
export function confirmDialog({ title, body, ok, danger = true }) {
  const dlg = dialogEl();
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const titleId = 'dialog-title';
    const close = (v) => {
      dlg.close();
      resolve(v);
      if (opener && opener.isConnected) opener.focus();
    };
    const keep = h('button', { type: 'button', class: 'btn btn-secondary', on: { click: () => close(false) } }, t('act.keep'));
    setChildren(dlg,
      h('div', { class: 'dialog-body' },
        h('h2', { id: titleId, text: title }),
        h('p', { text: body }),
        h('div', { class: 'dialog-actions' },
          keep,
          h('button', { type: 'button', class: ['btn', danger ? 'btn-danger' : 'btn-primary'], on: { click: () => close(true) } }, ok))));
    dlg.setAttribute('aria-labelledby', titleId);
    dlg.oncancel = (e) => { e.preventDefault(); close(false); };
    dlg.showModal();
    keep.focus();
  });
}

/**
 * A modal form: build(body) adds controls; submit() returns true to close
 * (false keeps it open, e.g. after a server error shown inside).
 */
export function formDialog({ title, build, submitLabel, submit }) {
  const dlg = dialogEl();
  const opener = document.activeElement;
  const titleId = 'dialog-title';
  const errorId = 'dialog-error';
  const error = h('p', { id: errorId, class: 'field-error', hidden: true });
  const fields = h('div', { class: 'dialog-fields' });
  const close = () => {
    dlg.close();
    if (opener && opener.isConnected) opener.focus();
  };
  const submitBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, submitLabel);
  const form = h('form', { class: 'dialog-body', novalidate: true },
    h('h2', { id: titleId, text: title }),
    fields,
    error,
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'btn btn-secondary', on: { click: close } }, t('act.keep')),
      submitBtn));
  const api = {
    showError(text) { error.textContent = text; error.hidden = !text; },
    errorId,
  };
  const ready = build(fields, api);
  if (ready === false) submitBtn.disabled = true;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (submitBtn.disabled) return;
    api.showError('');
    submitBtn.disabled = true;
    try {
      if (await submit(api)) close();
    } finally {
      submitBtn.disabled = false;
    }
  });
  setChildren(dlg, form);
  dlg.setAttribute('aria-labelledby', titleId);
  dlg.oncancel = (e) => { e.preventDefault(); close(); };
  dlg.showModal();
  const first = fields.querySelector('input, select, textarea');
  (first || submitBtn).focus();
}

/** "a, b" from specialty slugs, translated. */
export function specialtiesText(list) {
  return (list || []).map(specialtyLabel).join(', ');
}
