// errors.js — human words for every error: the protocol's error codes
// (PROTOCOL.md "error" table), the attachment HTTP replies (too_big and the
// same codes), client-side failures (offline, timeout, disconnected, network)
// and close codes; the global error banner (role="alert") and
// the polite status announcer for screen readers. Nothing here logs the
// server's message text to the console: it may name patient data fields.

import { h, setChildren } from './dom.js';
import { t, has, onLangChange } from './i18n.js';

export const ERROR_CODES = ['invalid', 'unsupported', 'unauthenticated', 'expired', 'forbidden',
  'not_found', 'wrong_state', 'taken', 'exists', 'limit', 'storage', 'no_memory'];
const CLIENT_CODES = ['offline', 'timeout', 'disconnected', 'network', 'http', 'too_big'];

/** Protocol field paths (an `invalid` error's `field`) → label keys. */
const FIELD_KEYS = {
  'patient.id': 'field.patient.id',
  'patient.name': 'field.patient.name',
  'patient.birth_date': 'field.patient.birth_date',
  patient: 'field.patient.name',
  specialty: 'field.specialty', urgency: 'field.urgency', mode: 'field.mode', reason: 'field.reason',
  tenant: 'field.tenant', specialist: 'field.specialist',
  attachments: 'field.attachments', text: 'field.text', version: 'field.version',
  findings: 'field.findings', 'diagnosis.code': 'field.diagnosis.code', 'diagnosis.text': 'field.diagnosis.text',
  diagnosis: 'field.diagnosis.code', recommendations: 'field.recommendations', before_seq: 'field.before_seq',
};

/** The protocol field an `invalid` error is about (its `field`), if any. */
export function invalidField(err) {
  return (err && typeof err.field === 'string' && err.field) || null;
}

/**
 * Words for an error: a text for the offending field and code when there is one
 * (err.field.attachments.not_found), else a context-specific text for (action,
 * code) (e.g. 'accept' + 'taken', 'chat.send' + 'forbidden'; an `invalid` with
 * a known field: err.<action>.invalidField), else the generic text for the code.
 * action is the protocol type without the "consult." prefix, or 'upload' /
 * 'download' for the attachment HTTP requests.
 */
export function errorText(err, action) {
  const code = (err && err.code) || 'unknown';
  const act = action || (err && err.requestType ? String(err.requestType).replace(/^consult\./, '') : '');
  const field = invalidField(err);
  const fieldLabel = field && FIELD_KEYS[field] ? t(FIELD_KEYS[field]) : '';
  // A field-specific text first (e.g. attachments that are not found or already bound).
  if (field && has(`err.field.${field}.${code}`)) return t(`err.field.${field}.${code}`);
  if (code === 'invalid' && fieldLabel) {
    return t(act && has(`err.${act}.invalidField`) ? `err.${act}.invalidField` : 'err.invalidField', { field: fieldLabel });
  }
  if (act && has(`err.${act}.${code}`)) return t(`err.${act}.${code}`);
  if (code === 'invalid') return t('err.invalid');
  if (ERROR_CODES.includes(code) || CLIENT_CODES.includes(code)) return t(`err.${code}`);
  return t('err.unknown', { code: String(code).slice(0, 40) });
}

export function closeText(reason) {
  return has(`close.${reason}`) ? t(`close.${reason}`) : t('close.1006');
}

// ---- global error banner ----------------------------------------------------

let region = null;
const shown = [];

export function initErrorRegion(el) {
  region = el;
}

/**
 * Shows an error in the global banner (role="alert"); the same text is not
 * stacked twice. message is a function giving the text in the current language
 * (so the banner follows the language switch), or a plain string.
 */
export function showError(message) {
  if (!region) return;
  const textOf = typeof message === 'function' ? message : () => message;
  const text = textOf();
  if (shown.some((s) => s.textOf() === text)) return;
  const p = h('p', { class: 'alert-text', text });
  const btn = h('button', { type: 'button', class: 'btn btn-quiet btn-small', on: { click: () => dismiss(item) } }, t('act.dismiss'));
  const item = h('div', { class: 'alert-item' },
    h('span', { class: 'alert-icon', 'aria-hidden': 'true', text: '!' }), p, btn);
  shown.push({ textOf, item, p, btn });
  region.append(item);
  region.hidden = false;
  // Keep the banner short: at most three messages.
  while (shown.length > 3) dismiss(shown[0].item);
}

function dismiss(item) {
  const i = shown.findIndex((s) => s.item === item);
  if (i >= 0) shown.splice(i, 1);
  const hadFocus = item.contains(document.activeElement);
  item.remove();
  if (!shown.length) region.hidden = true;
  if (hadFocus) document.getElementById('main')?.focus();
}

export function clearErrors() {
  while (shown.length) dismiss(shown[0].item);
}

/** Shows the words for a failed request. */
export function reportError(err, action) {
  showError(() => errorText(err, action));
}

onLangChange(() => {
  for (const s of shown) {
    s.p.textContent = s.textOf();
    s.btn.textContent = t('act.dismiss');
  }
});

// ---- polite announcements -----------------------------------------------------

let status = null;
let clearTimer = null;

export function initAnnouncer(el) {
  status = el;
}

/** Says text politely to screen readers (and nothing visually). */
export function announce(text) {
  if (!status) return;
  clearTimeout(clearTimer);
  // Added content is what makes the live region speak; keep the last few.
  status.append(h('p', { text }));
  while (status.childElementCount > 3) status.firstElementChild.remove();
  clearTimer = setTimeout(() => setChildren(status), 8000);
}
