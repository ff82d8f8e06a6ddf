// views/clinician.js — the clinician's (лечащий врач / фельдшер) screen: the
// "New request" form with client-side checks mirroring the protocol's limits
// and files (ECG, images, PDF) uploaded as they are chosen and sent by id, and
// the list of their own consults with live state, deadline countdown,
// escalation, files, unread chat messages, the conclusion's state, Cancel
// (while queued or accepted), Join (accepted, in progress) and the case view
// with the conclusion once ended.

import { h, setText, renderKeyed } from '../dom.js';
import { t, applyI18n, specialtyLabel } from '../i18n.js';
import { SPECIALTIES, URGENCIES, MODES, isQueued, isActive, isFinal, queueCompare, recentCompare } from '../store.js';
import { errorText, invalidField, announce } from '../errors.js';
import {
  consultHead, patientLine, deadlineEl, centreLine, timesLine, reasonBlock, actionButton,
  confirmDialog, sig, now, requestFiles, conclusionLine, unreadBadge, caseButton,
} from './parts.js';
import { createFilePicker } from './attachment-parts.js';

const REQUEST_FILES_MAX = 8; // PROTOCOL.md "consult.request with attachments"

const LIMITS = { patientId: 63, patientName: 127, reason: 4095 }; // bytes, PROTOCOL.md "Objects"
const encoder = new TextEncoder();
const byteLength = (s) => encoder.encode(s).length;
// Control characters are refused in one-line fields; the reason may hold \n, \t, \r.
const CONTROL_LINE = /[\u0000-\u001f\u007f]/;
const CONTROL_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function textProblem(value, maxBytes, multiline) {
  if (!value.trim()) return t('v.required');
  if ((multiline ? CONTROL_TEXT : CONTROL_LINE).test(value)) return t('v.control');
  const bytes = byteLength(value);
  if (bytes > maxBytes) {
    const perChar = bytes / [...value].length;
    return t('v.tooLong', { over: Math.max(1, Math.ceil((bytes - maxBytes) / perChar)) });
  }
  return null;
}

function dateProblem(value, todayYmd) {
  if (!value) return t('v.required');
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return t('v.date');
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  if (d.getUTCFullYear() !== +m[1] || d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[3]) return t('v.date');
  if (value > todayYmd) return t('v.dateFuture');
  if (+m[1] < 1900) return t('v.dateOld');
  return null;
}

function localYmd(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** One labelled control with hint and error slots wired through aria-describedby. */
function field({ id, labelKey, hintKey, control, wide }) {
  const hintId = hintKey ? `${id}-hint` : null;
  const errId = `${id}-err`;
  control.id = id;
  control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  return h('div', { class: ['field', wide ? 'field-wide' : ''] },
    h('label', { for: id, 'data-i18n': labelKey }),
    control,
    hintKey ? h('p', { id: hintId, class: 'hint', 'data-i18n': hintKey }) : null,
    h('p', { id: errId, class: 'field-error', hidden: true }));
}

/** A radio group (fieldset/legend) whose options carry a short explanation. */
function radioGroup({ name, legendKey, values, labelKey, hintKey, checked, noteKey, extraClass }) {
  const errId = `${name}-err`;
  return h('fieldset', { class: ['radio-group', extraClass], id: `${name}-group`, 'aria-describedby': errId },
    h('legend', { 'data-i18n': legendKey }),
    noteKey ? h('p', { class: 'hint', 'data-i18n': noteKey }) : null,
    h('div', { class: 'radio-options' }, values.map((v) => {
      const id = `${name}-${v}`;
      const hintId = `${id}-hint`;
      return h('div', { class: ['radio-card', `radio-${v}`] },
        h('input', { type: 'radio', id, name, value: v, checked: v === checked, 'aria-describedby': hintKey ? hintId : undefined }),
        h('span', { class: 'radio-text' },
          h('label', { for: id, class: 'radio-title', 'data-i18n': labelKey(v) }),
          hintKey ? h('span', { id: hintId, class: 'radio-hint', 'data-i18n': hintKey(v) }) : null));
    })),
    h('p', { id: errId, class: 'field-error', hidden: true }));
}

export function createClinicianView(ctx) {
  const { store, user } = ctx;

  // ---- the form -------------------------------------------------------------
  const pid = h('input', { type: 'text', name: 'patient-id', autocomplete: 'off', spellcheck: 'false', required: true });
  const pname = h('input', { type: 'text', name: 'patient-name', autocomplete: 'off', required: true });
  const pbirth = h('input', { type: 'date', name: 'birth-date', required: true, min: '1900-01-01' });
  const specialty = h('select', { name: 'specialty', required: true },
    h('option', { value: '', 'data-i18n': 'form.choose' }),
    SPECIALTIES.map((s) => h('option', { value: s, 'data-i18n': `specialty.${s}` })));
  const reason = h('textarea', { name: 'reason', rows: '4', required: true });
  const summary = h('p', { class: 'form-summary', role: 'alert', hidden: true });
  const sent = h('p', { class: 'form-sent', role: 'status' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', 'data-i18n': 'form.submit' });
  const picker = createFilePicker({ policy: () => ctx.attachmentPolicy(), max: REQUEST_FILES_MAX, labelKey: 'att.choose' });
  const filesTitle = h('span', { id: 'f-files-title', class: 'field-label', 'data-i18n': 'form.attachments' });
  const filesField = h('div', { class: 'field field-wide files-field', role: 'group', 'aria-labelledby': 'f-files-title' }, filesTitle, picker.el);
  const noFiles = h('p', { class: 'note', 'data-i18n': 'form.noAttachments' });
  const syncFilesField = (relabel = false) => {
    const on = !!ctx.attachmentPolicy();
    if (on && (filesField.hidden || relabel)) picker.relabel(); // the types and size of this gateway
    filesField.hidden = !on;
    noFiles.hidden = on;
  };

  const form = h('form', { class: 'request-form', novalidate: true, 'aria-labelledby': 'new-request-title' },
    h('fieldset', { class: 'group' },
      h('legend', { 'data-i18n': 'form.patient' }),
      field({ id: 'f-patient-name', labelKey: 'form.patientName', control: pname, wide: true }),
      h('div', { class: 'field-row' },
        field({ id: 'f-patient-id', labelKey: 'form.patientId', hintKey: 'form.patientId.hint', control: pid }),
        field({ id: 'f-birth-date', labelKey: 'form.birthDate', control: pbirth }))),
    h('fieldset', { class: 'group' },
      h('legend', { 'data-i18n': 'form.request' }),
      field({ id: 'f-specialty', labelKey: 'form.specialty', control: specialty }),
      radioGroup({
        name: 'urgency', legendKey: 'form.urgency', values: URGENCIES, noteKey: 'form.deadlinesNote',
        labelKey: (v) => `urgency.${v}`, hintKey: (v) => `urgency.${v}.hint`, extraClass: 'urgency-group',
      }),
      radioGroup({
        name: 'mode', legendKey: 'form.mode', values: MODES, checked: 'realtime',
        labelKey: (v) => `mode.${v}`, hintKey: (v) => `mode.${v}.hint`, extraClass: 'mode-group',
      }),
      field({ id: 'f-reason', labelKey: 'form.reason', hintKey: 'form.reason.hint', control: reason, wide: true }),
      filesField, noFiles),
    summary,
    h('div', { class: 'form-actions' },
      submit,
      h('button', { type: 'reset', class: 'btn btn-quiet', 'data-i18n': 'form.clear' }),
      sent));

  // Messages are kept as functions so that they follow the language switch.
  let sentText = null;
  let summaryText = null;
  const showSent = (fn) => { sentText = fn; setText(sent, fn ? fn() : ''); };
  const showSummary = (fn) => { summaryText = fn; summary.textContent = fn ? fn() : ''; summary.hidden = !fn; };

  const controls = {
    'patient.id': pid, 'patient.name': pname, 'patient.birth_date': pbirth, specialty, reason,
    urgency: form.querySelector('#urgency-group'), mode: form.querySelector('#mode-group'),
  };

  function setFieldError(key, text) {
    if (key === 'attachments') { picker.showError(text); return; }
    const ctl = controls[key];
    if (!ctl) return;
    const err = form.querySelector(`#${ctl.tagName === 'FIELDSET' ? ctl.id.replace(/-group$/, '') : ctl.id}-err`);
    const target = ctl.tagName === 'FIELDSET' ? ctl.querySelectorAll('input') : [ctl];
    for (const c of target) {
      if (text) c.setAttribute('aria-invalid', 'true');
      else c.removeAttribute('aria-invalid');
    }
    ctl.closest('.field, .radio-group')?.classList.toggle('has-error', !!text);
    if (err) { err.textContent = text || ''; err.hidden = !text; }
  }

  function clearErrors() {
    for (const k of ['patient.id', 'patient.name', 'patient.birth_date', 'specialty', 'urgency', 'mode', 'reason']) setFieldError(k, null);
    showSummary(null);
  }

  function validate() {
    const problems = [];
    const check = (key, text) => { if (text) { problems.push(key); setFieldError(key, text); } else setFieldError(key, null); };
    check('patient.name', textProblem(pname.value, LIMITS.patientName, false));
    check('patient.id', textProblem(pid.value, LIMITS.patientId, false));
    check('patient.birth_date', dateProblem(pbirth.value, localYmd(now())));
    check('specialty', SPECIALTIES.includes(specialty.value) ? null : t('v.choose'));
    const urgency = form.elements.urgency.value;
    check('urgency', URGENCIES.includes(urgency) ? null : t('v.choose'));
    const mode = form.elements.mode.value;
    check('mode', MODES.includes(mode) ? null : t('v.choose'));
    check('reason', textProblem(reason.value, LIMITS.reason, true));
    return problems;
  }

  function focusControl(key) {
    const ctl = controls[key];
    if (!ctl) return;
    (ctl.tagName === 'FIELDSET' ? ctl.querySelector('input:checked') || ctl.querySelector('input') : ctl).focus();
  }

  // Re-check a field once the user changes it after a failed submit.
  form.addEventListener('input', () => { if (form.dataset.tried) validate(); });
  form.addEventListener('change', () => { if (form.dataset.tried) validate(); });
  form.addEventListener('reset', () => {
    delete form.dataset.tried;
    clearErrors();
    picker.clear();
    showSent(null);
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (submit.disabled) return;
    showSent(null);
    form.dataset.tried = '1';
    const problems = validate();
    if (problems.length) {
      showSummary(() => t('form.fix'));
      focusControl(problems[0]);
      return;
    }
    showSummary(null);
    const patient = { id: pid.value.trim(), name: pname.value.trim(), birth_date: pbirth.value };
    const fields = {
      patient, specialty: specialty.value, urgency: form.elements.urgency.value,
      mode: form.elements.mode.value, reason: reason.value.trim(),
    };
    submit.disabled = true;
    setText(submit, t(picker.uploading ? 'form.uploading' : 'form.sending'));
    try {
      if (picker.count) {
        const files = await picker.settle();
        if (!files.ok) {
          showSummary(() => t('att.someFailed'));
          picker.focus();
          return;
        }
        if (files.ids.length) fields.attachments = files.ids;
        setText(submit, t('form.sending'));
      }
      const reply = await ctx.request('consult.request', fields);
      store.apply(reply);
      form.reset(); // its 'reset' handler runs synchronously, before the message below
      showSent(() => t('form.sent', { patient: patient.name, specialty: specialtyLabel(fields.specialty) }));
    } catch (err) {
      const key = ['invalid', 'not_found', 'exists'].includes(err.code) ? invalidField(err) : null;
      if (key === 'attachments') {
        setFieldError(key, errorText(err, 'request'));
        picker.focus();
      } else if (key && controls[key]) {
        setFieldError(key, errorText(err, 'request'));
        focusControl(key);
      }
      showSummary(() => `${t('form.serverRefused')} ${errorText(err, 'request')}`);
    } finally {
      submit.disabled = false;
      setText(submit, t('form.submit'));
    }
  });

  const formPanel = h('section', { class: 'panel panel-form', 'aria-labelledby': 'new-request-title' },
    h('h2', { id: 'new-request-title', 'data-i18n': 'form.title' }),
    form);

  // ---- the list ---------------------------------------------------------------
  const openList = h('ul', { class: 'cards', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-labelledby': 'clin-open-title' });
  const openEmpty = h('p', { class: 'empty', 'data-i18n': 'clin.empty' });
  const finishedList = h('ul', { class: 'cards' });
  const finishedSummary = h('summary');
  const finished = h('details', { class: 'finished' }, finishedSummary, finishedList);

  const listPanel = h('section', { class: 'panel panel-list', 'aria-labelledby': 'clin-mine-title' },
    h('h2', { id: 'clin-mine-title', 'data-i18n': 'clin.mine' }),
    h('h3', { id: 'clin-open-title', class: 'visually-hidden', 'data-i18n': 'clin.open' }),
    openEmpty, openList, finished);

  function card(c) {
    const patient = c.patient?.name || '';
    const actions = [];
    if (isActive(c)) {
      actions.push(actionButton(t(c.mode === 'deferred' ? 'act.open' : 'act.join'), async () => ctx.navigate(`#/call/${c.id}`),
        { variant: 'primary', focusName: 'join', ariaLabel: t('act.for', { action: t(c.mode === 'deferred' ? 'act.open' : 'act.join'), patient }) }));
    }
    if (c.state === 'ended' || (isFinal(c) && c.conclusion)) actions.push(caseButton(ctx, c));
    if (isQueued(c) || c.state === 'accepted') {
      actions.push(actionButton(t('act.cancel'), async () => {
        const ok = await confirmDialog({
          title: t('confirm.cancel.title'),
          body: t('confirm.cancel.body', { patient, specialty: specialtyLabel(c.specialty) }),
          ok: t('confirm.cancel.ok'),
        });
        if (!ok) return;
        const reply = await ctx.act('consult.cancel', { consult_id: c.id });
        if (reply) announce(t('ann.cancelled', { patient }));
      }, { variant: 'secondary', focusName: 'cancel', ariaLabel: t('act.for', { action: t('act.cancel'), patient }) }));
    }
    return h('li', { class: ['card', 'consult', `urgency-${c.urgency}`, isQueued(c) ? `esc-row-${c.escalation}` : ''], tabindex: '-1' },
      consultHead(c),
      patientLine(c),
      deadlineEl(c),
      c.specialist ? h('p', { class: 'meta', text: t('c.specialist', { name: c.specialist.name }) }) : null,
      centreLine(c, user),
      timesLine(c),
      reasonBlock(c),
      requestFiles(c),
      conclusionLine(c),
      unreadBadge(ctx.chat.unread(c.id)),
      actions.length ? h('div', { class: 'card-actions' }, actions) : null);
  }

  function update() {
    const all = store.all();
    const open = all.filter((c) => !isFinal(c));
    open.sort((a, b) => (isQueued(b) - isQueued(a)) || (isQueued(a) ? queueCompare(a, b) : recentCompare(a, b)));
    const done = all.filter(isFinal).sort(recentCompare);
    const signature = (c) => sig(c, ctx.chat.unread(c.id));
    renderKeyed(openList, open, { key: (c) => c.id, render: card, signature });
    openEmpty.hidden = open.length > 0;
    renderKeyed(finishedList, done, { key: (c) => c.id, render: card, signature });
    setText(finishedSummary, t('list.finished', { n: done.length }));
    finished.hidden = done.length === 0;
  }

  const el = h('div', { class: 'layout layout-clinician' }, formPanel, listPanel);
  applyI18n(el);
  filesField.hidden = true;
  syncFilesField();
  update();
  return {
    el,
    update() { syncFilesField(); update(); },
    relabel() {
      applyI18n(el);
      syncFilesField(true);
      if (form.dataset.tried) validate();
      if (sentText) setText(sent, sentText());
      if (summaryText) summary.textContent = summaryText();
      setText(submit, t(submit.disabled ? 'form.sending' : 'form.submit'));
      update();
    },
    destroy() {},
  };
}

