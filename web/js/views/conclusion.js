// views/conclusion.js — the specialist's conclusion (заключение консультанта)
// of one consult. For the consult's specialist, while it is not signed: a form
// (findings, ICD-10 code with suggestions and the diagnosis text,
// recommendations) with "Save draft" (conclusion.save) and "Sign"
// (conclusion.sign with the version on screen, after a confirmation that a
// signed conclusion cannot be changed), and a line saying what is saved
// (draft vN at …, unsaved changes). Unsaved edits survive a page reload in
// sessionStorage. Everyone else, and the specialist once signed, sees the
// signed conclusion as a read-only document (conclusion.get), or what state it
// is in. The text is fetched when the panel opens, after a reconnect and when
// the consult's conclusion summary changes.
// Signed, the conclusion is a document on its way to the patient's electronic
// record: a live line under it says how far (./delivery.js), "Download PDF"
// fetches the document's PDF (../documents.js), and the consult's specialist
// can amend it: the form again, prefilled with the signed text and saying
// which version it amends; signing the amendment makes a new document that
// replaces the last one. Meanwhile everyone else keeps reading the signed
// version (the server's conclusion.get does that).

import { h, setChildren, setText, nextId } from '../dom.js';
import { t, getLang, fmtTime, specialtyLabel } from '../i18n.js';
import { errorText, invalidField, announce } from '../errors.js';
import { COMMON_CODES, normaliseCode, isIcd10, hasCyrillic, codeTitle } from '../icd10.js';
import { confirmDialog, now } from './parts.js';
import { createDeliveryLine, documentOf } from './delivery.js';
import { downloadDocumentPdf, safeFileName } from '../documents.js';

const LIMITS = { findings: 8000, recommendations: 8000, diagnosisText: 500 };
const WRITABLE = new Set(['accepted', 'in_progress', 'ended']);
const BACKUP_KEY = 'consilium.conclusionDraft.';
const encoder = new TextEncoder();
const bytes = (s) => encoder.encode(s).length;

export const isAuthorOf = (c, user) => !!c?.specialist && !!user && c.specialist.subject === user.subject
  && (!c.specialist.tenant || c.specialist.tenant === user.tenant);

/** A signed conclusion as a document (read-only): findings, diagnosis, recommendations, signature. */
export function conclusionDocument(doc, c) {
  const code = doc.diagnosis?.code || '';
  const dtext = doc.diagnosis?.text || '';
  return h('article', { class: 'conclusion-doc', 'aria-label': t('concl.docTitle') },
    h('header', { class: 'doc-head' },
      h('p', { class: 'doc-title', text: t('concl.docTitle') }),
      c ? h('p', { class: 'doc-sub', text: `${specialtyLabel(c.specialty)} · ${c.patient?.name || ''}` } ) : null),
    h('dl', { class: 'doc-body' },
      h('dt', { text: t('concl.findings') }), h('dd', { class: 'doc-text', text: doc.findings || '—' }),
      h('dt', { text: t('concl.diagnosis') }),
      h('dd', {}, code ? h('strong', { class: 'doc-code', text: code }) : null, code && dtext ? ' — ' : '', dtext || (code ? '' : '—')),
      h('dt', { text: t('concl.recommendations') }), h('dd', { class: 'doc-text', text: doc.recommendations || '—' })),
    h('p', { class: 'doc-signed' },
      h('span', { class: 'badge badge-signed' }, h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: '✓' }), t('concl.signedBadge')),
      ' ',
      t('concl.signedBy', { name: doc.author?.name || doc.author?.subject || '', time: fmtTime(doc.signed_at, now()) })),
    doc.document?.replaces ? h('p', { class: 'doc-amended', text: t('concl.docAmended', { version: doc.version }) }) : null);
}

export function createConclusionPanel(ctx, consultId) {
  const { store, user } = ctx;
  const uid = nextId('concl');
  const title = h('h3', { id: `${uid}-title`, class: 'concl-title' });
  const state = h('p', { class: 'concl-state', role: 'status' });
  const notice = h('div', { class: 'concl-notice' });
  const body = h('div', { class: 'concl-body' });
  const el = h('section', { class: 'conclusion-panel', 'aria-labelledby': `${uid}-title`, dataset: { consult: consultId } },
    title, state, notice, body);

  let doc = null;          // the latest conclusion from the server (or null)
  let loaded = false;
  let loading = false;
  let loadError = null;
  let busy = '';           // '' | 'save' | 'sign'
  let newer = null;        // a newer version saved elsewhere while we have unsaved edits
  let formError = null;    // () => text
  let restored = false;
  let again = false;       // a load was asked for while one ran
  let amending = false;    // the author chose "Amend" on the signed document (nothing saved yet)
  let pdfBusy = false;
  let pdfError = null;

  const consult = () => store.get(consultId);
  const author = () => isAuthorOf(consult(), user);
  const signed = () => doc?.status === 'signed' || consult()?.conclusion?.status === 'signed';
  const writable = () => WRITABLE.has(consult()?.state);
  /** The author is amending the signed text on screen, not saved yet. */
  const amendingNow = () => amending && author() && doc?.status === 'signed';
  /** The signed version the form amends (0: a first conclusion). */
  const amendedVersion = () => (amendingNow() ? doc.version : doc?.status === 'draft' && doc.document ? doc.document.version : 0);
  /** The document of the signed text on screen, with the freshest delivery (the summary's, when it is the same one). */
  function shownDocument() {
    if (doc?.status !== 'signed') return null;
    const live = documentOf(consult());
    const own = doc.document || null;
    if (live && (own ? live.id === own.id : live.version === doc.version)) return live;
    return own;
  }

  // ---- the form (built once, so typing is never interrupted) --------------------------------
  const listId = `${uid}-codes`;
  const field = (key, control, { hintKey, limit } = {}) => {
    const id = `${uid}-${key}`;
    control.id = id;
    const hint = hintKey ? h('p', { id: `${id}-hint`, class: 'hint', dataset: { key: hintKey } }) : null;
    const err = h('p', { id: `${id}-err`, class: 'field-error', hidden: true });
    control.setAttribute('aria-describedby', [hint ? `${id}-hint` : '', `${id}-err`].filter(Boolean).join(' '));
    const label = h('label', { for: id, dataset: { key: `concl.${key}` } });
    return { key, control, err, label, limit, box: h('div', { class: 'field' }, label, control, hint, err) };
  };
  const findings = field('findings', h('textarea', { rows: '5', spellcheck: 'true' }), { hintKey: 'concl.findings.hint', limit: LIMITS.findings });
  const code = field('code', h('input', { type: 'text', list: listId, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters', maxlength: '8', inputmode: 'text' }), { hintKey: 'concl.code.hint' });
  const dtext = field('diagnosisText', h('input', { type: 'text', autocomplete: 'off' }), { limit: LIMITS.diagnosisText });
  const recs = field('recommendations', h('textarea', { rows: '5', spellcheck: 'true' }), { hintKey: 'concl.recommendations.hint', limit: LIMITS.recommendations });
  const fields = { findings, 'diagnosis.code': code, 'diagnosis.text': dtext, recommendations: recs };
  const datalist = h('datalist', { id: listId });
  const saveLabel = h('span', {});
  const signLabel = h('span', {});
  const saveBtn = h('button', { type: 'button', class: 'btn btn-secondary', dataset: { focus: 'save' } }, saveLabel);
  const signBtn = h('button', { type: 'button', class: 'btn btn-primary', dataset: { focus: 'sign' } }, signLabel);
  const formErr = h('p', { class: 'form-summary', role: 'alert', hidden: true });
  const codeHint = code.box.querySelector('.hint'); // under both diagnosis fields: it is long
  const amendTitle = h('p', { class: 'amend-title', id: `${uid}-amend` });
  const amendText = h('p', { class: 'amend-text' });
  const amendNote = h('div', { class: 'concl-amend-note', hidden: true }, amendTitle, amendText);
  const cancelLabel = h('span', {});
  const cancelBtn = h('button', { type: 'button', class: 'btn btn-quiet', hidden: true, dataset: { focus: 'cancel-amend' } }, cancelLabel);
  const form = h('form', { class: 'concl-form', novalidate: true },
    amendNote,
    findings.box,
    h('div', { class: 'concl-diagnosis-group' }, h('div', { class: 'field-row concl-diagnosis' }, code.box, dtext.box), codeHint),
    datalist,
    recs.box,
    formErr,
    h('div', { class: 'form-actions' }, saveBtn, signBtn, cancelBtn));
  form.addEventListener('submit', (e) => e.preventDefault());

  const values = () => ({
    findings: findings.control.value,
    diagnosis: { code: normaliseCode(code.control.value), text: dtext.control.value.trim() },
    recommendations: recs.control.value,
  });
  const saved = () => ({
    findings: doc?.findings || '',
    diagnosis: { code: doc?.diagnosis?.code || '', text: doc?.diagnosis?.text || '' },
    recommendations: doc?.recommendations || '',
  });
  const same = (a, b) => a.findings === b.findings && a.recommendations === b.recommendations
    && a.diagnosis.code === b.diagnosis.code && a.diagnosis.text === b.diagnosis.text;
  const dirty = () => !same(values(), saved());

  function fill(v) {
    findings.control.value = v.findings;
    code.control.value = v.diagnosis.code;
    dtext.control.value = v.diagnosis.text;
    recs.control.value = v.recommendations;
    autoTitle = codeTitle(v.diagnosis.code, getLang()) === v.diagnosis.text ? v.diagnosis.text : null;
  }

  // Choosing a listed code fills the diagnosis text, unless the specialist wrote their own.
  let autoTitle = null;
  code.control.addEventListener('input', () => {
    const c = normaliseCode(code.control.value);
    const title2 = codeTitle(c, getLang());
    if (title2 && (!dtext.control.value.trim() || dtext.control.value === autoTitle)) {
      dtext.control.value = title2;
      autoTitle = title2;
    }
  });
  code.control.addEventListener('blur', () => {
    const c = normaliseCode(code.control.value);
    if (c !== code.control.value) code.control.value = c;
  });

  function setFieldError(f, text) {
    f.err.textContent = text || '';
    f.err.hidden = !text;
    if (text) f.control.setAttribute('aria-invalid', 'true');
    else f.control.removeAttribute('aria-invalid');
  }

  /** Client-side checks of the protocol's rules; complete: also required for signing. */
  function check({ complete }) {
    const v = values();
    const problems = [];
    const put = (f, text) => { setFieldError(f, text); if (text) problems.push(f); };
    const textProblem = (s, limit) => {
      if (complete && !s.trim()) return t('v.required');
      const n = bytes(s);
      return n > limit ? t('v.tooLong', { over: Math.max(1, Math.ceil((n - limit) / (n / Math.max(1, [...s].length)))) }) : null;
    };
    put(findings, textProblem(v.findings, LIMITS.findings));
    const rawCode = code.control.value.trim();
    put(code, !v.diagnosis.code ? (complete ? t('v.required') : null)
      : hasCyrillic(rawCode) ? t('concl.v.cyrillic')
        : isIcd10(v.diagnosis.code) ? null : t('concl.v.code'));
    put(dtext, textProblem(v.diagnosis.text, LIMITS.diagnosisText));
    put(recs, textProblem(v.recommendations, LIMITS.recommendations));
    return problems;
  }

  function showFormError(fn) {
    formError = fn;
    formErr.textContent = fn ? fn() : '';
    formErr.hidden = !fn;
  }

  function backup() {
    try {
      if (dirty()) sessionStorage.setItem(BACKUP_KEY + consultId, JSON.stringify({ base: doc?.version || 0, v: values() }));
      else sessionStorage.removeItem(BACKUP_KEY + consultId);
    } catch { /* private mode */ }
  }
  function restoreBackup() {
    try {
      const b = JSON.parse(sessionStorage.getItem(BACKUP_KEY + consultId) || 'null');
      if (b && b.base === (doc?.version || 0) && b.v && !same(b.v, saved())) {
        fill(b.v);
        restored = true;
        if (doc?.status === 'signed') amending = true; // an amendment typed before the reload
      }
      else sessionStorage.removeItem(BACKUP_KEY + consultId);
    } catch { /* ignore */ }
  }

  form.addEventListener('input', () => {
    if (form.dataset.tried) check({ complete: form.dataset.tried === 'sign' });
    if (formError) showFormError(null);
    restored = false;
    backup();
    renderState();
    renderButtons();
  });

  async function save({ quiet = false } = {}) {
    form.dataset.tried = 'save';
    const problems = check({ complete: false });
    if (problems.length) { showFormError(() => t('form.fix')); problems[0].control.focus(); return null; }
    busy = 'save';
    renderAll();
    try {
      const reply = await ctx.request('conclusion.save', { consult_id: consultId, ...values() });
      store.apply(reply);
      if (reply.conclusion) doc = reply.conclusion;
      newer = null;
      if (doc?.status !== 'signed') amending = false;
      fill(saved());
      backup();
      showFormError(null);
      if (!quiet) announce(t('concl.savedAnn', { version: doc?.version }));
      return doc;
    } catch (err) {
      onError(err, 'conclusion.save');
      return null;
    } finally {
      busy = '';
      renderAll();
    }
  }

  async function sign() {
    form.dataset.tried = 'sign';
    const problems = check({ complete: true });
    if (problems.length) { showFormError(() => t('concl.v.incomplete')); problems[0].control.focus(); return; }
    showFormError(null);
    if (amendingNow() && !dirty()) {
      showFormError(() => t('concl.v.unchanged'));
      findings.control.focus();
      return;
    }
    if (dirty() || !doc) {
      const d = await save({ quiet: true });
      if (!d) return;
    }
    if (doc.status === 'signed') return; // signed meanwhile (another window): the document is shown
    const version = doc.version;
    const replaced = doc.document ? doc.document.version : 0;
    const patient = consult()?.patient?.name || '';
    const ok = await confirmDialog({
      title: t(replaced ? 'concl.confirm.amendTitle' : 'concl.confirm.title'),
      body: replaced ? t('concl.confirm.amendBody', { version, signed: replaced, patient }) : t('concl.confirm.body', { version, patient }),
      ok: t('concl.confirm.ok'),
      danger: false,
    });
    if (!ok) return;
    busy = 'sign';
    renderAll();
    try {
      const reply = await ctx.request('conclusion.sign', { consult_id: consultId, version });
      store.apply(reply);
      if (reply.conclusion) doc = reply.conclusion;
      amending = false;
      pdfError = null;
      backup();
      announce(t(replaced ? 'concl.amendSignedAnn' : 'concl.signedAnn'));
    } catch (err) {
      onError(err, 'conclusion.sign');
    } finally {
      busy = '';
      renderAll();
    }
  }

  function onError(err, action) {
    const f = err.code === 'invalid' ? fields[invalidField(err)] : null;
    if (f) { setFieldError(f, errorText(err, action)); f.control.focus(); }
    if (action === 'conclusion.sign' && err.code === 'wrong_state' && !signed()) {
      showFormError(() => t('concl.err.changed'));
      load({ replace: true });
    } else {
      showFormError(() => errorText(err, action));
      if (err.code === 'wrong_state') { ctx.sync(); load(); }
    }
  }

  saveBtn.addEventListener('click', () => { if (!busy) save(); });
  signBtn.addEventListener('click', () => { if (!busy) sign(); });

  // ---- the signed document: delivery, PDF, print, amend -----------------------------------
  const delivery = createDeliveryLine();
  const pdfLabel = h('span', {});
  const printLabel = h('span', {});
  const amendLabel = h('span', {});
  const pdfBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small', dataset: { focus: 'pdf' } }, pdfLabel);
  const printBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small', on: { click: () => window.print() } }, printLabel);
  const amendBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small doc-amend', dataset: { focus: 'amend' } }, amendLabel);
  const pdfErr = h('p', { class: 'field-error doc-pdf-error', role: 'alert', hidden: true });
  const docFoot = h('div', { class: 'doc-foot' }, delivery.el, h('div', { class: 'doc-actions' }, amendBtn, pdfBtn, printBtn), pdfErr);

  async function downloadPdf() {
    const d = shownDocument();
    if (!d || pdfBusy) return;
    pdfBusy = true;
    pdfError = null;
    renderButtons();
    try {
      const p = consult()?.patient || {};
      await downloadDocumentPdf(d.id, safeFileName(t('concl.pdf.file', { patient: p.name || p.id || '', version: d.version })));
    } catch (err) {
      pdfError = err;
    } finally {
      pdfBusy = false;
      renderButtons();
    }
  }
  pdfBtn.addEventListener('click', downloadPdf);

  /** "Amend": the form, prefilled with the signed text, saying which version it amends. */
  function startAmend() {
    if (busy || !author() || doc?.status !== 'signed') return;
    amending = true;
    delete form.dataset.tried;
    for (const f of Object.values(fields)) setFieldError(f, null);
    showFormError(null);
    fill(saved());
    restored = false;
    renderAll();
    findings.control.focus();
    announce(t('concl.amend.started', { version: doc.version }));
  }
  function cancelAmend() {
    if (busy || !amendingNow()) return;
    amending = false;
    fill(saved());
    backup();
    renderAll();
    amendBtn.focus();
  }
  amendBtn.addEventListener('click', startAmend);
  cancelBtn.addEventListener('click', cancelAmend);

  // ---- loading ------------------------------------------------------------------------

  /** conclusion.get; replace: take the server's text even over unsaved edits (after a refused sign). */
  async function load({ replace = false } = {}) {
    const c = consult();
    if (loading) { again = true; return; }
    if (!c || !ctx.isOpen()) return;
    if (!author() && !c.conclusion) { loaded = true; renderAll(); return; } // nothing to fetch yet
    loading = true;
    renderAll();
    try {
      const reply = await ctx.request('conclusion.get', { consult_id: consultId });
      const next = reply.conclusion || null;
      const wasDirty = loaded && author() && dirty();
      const first = !loaded;
      const prev = doc;
      if (wasDirty && !replace && next && doc && next.version !== doc.version && next.status !== 'signed') {
        newer = next; // keep what is being typed; offer the newer draft
      } else {
        doc = next;
        newer = null;
        // An amendment being typed over the same signed version stays; a newer signature ends it.
        const sameSigned = next?.status === 'signed' && prev?.status === 'signed' && next.version === prev.version;
        if (!sameSigned) amending = false;
        if (!(wasDirty && amending && sameSigned) && (!wasDirty || replace || next?.status === 'signed')) fill(saved());
        if (first) restoreBackup();
      }
      loaded = true;
      loadError = null;
    } catch (err) {
      loadError = err;
    } finally {
      loading = false;
      renderAll();
    }
    if (again) { again = false; load(); }
  }

  // ---- rendering ------------------------------------------------------------------------

  function renderState() {
    const c = consult();
    const s = c?.conclusion;
    const writing = author() && loaded && (amendingNow() || !signed());
    let text = '';
    if (!writing && signed() && doc?.status === 'signed') {
      text = t('concl.state.signed', { name: doc.author?.name || '', time: fmtTime(doc.signed_at, now()) });
      // Others read the signed version while the specialist drafts its amendment.
      if (!author() && s?.status === 'draft' && s.version > doc.version) text += ` ${t('concl.state.othersAmending')}`;
    } else if (author() && busy === 'save') text = t('concl.state.saving');
    else if (author() && busy === 'sign') text = t('concl.state.signing');
    else if (writing) {
      const amended = amendedVersion();
      let base;
      if (amendingNow()) base = t('concl.state.amendNone', { signed: amended });
      else if (doc && amended) base = t('concl.state.amendDraft', { signed: amended, version: doc.version, time: fmtTime(doc.updated_at, now()) });
      else base = doc ? t('concl.state.draft', { version: doc.version, time: fmtTime(doc.updated_at, now()) }) : t('concl.state.none');
      text = dirty() ? `${base} ${t(restored ? 'concl.state.restored' : 'concl.state.unsaved')}` : base;
    } else if (!author() && s?.status === 'draft') {
      text = t('concl.state.othersDraft', { name: s.author?.name || c.specialist?.name || '', version: s.version, time: fmtTime(s.updated_at, now()) });
    }
    setText(state, text);
    state.dataset.state = writing ? (doc && !amendingNow() ? 'draft' : 'none') : signed() ? 'signed' : doc ? 'draft' : 'none';
    state.classList.toggle('is-dirty', writing && dirty());
  }

  function renderButtons() {
    const c = consult();
    const open = !!c && WRITABLE.has(c.state) && ctx.isOpen();
    saveBtn.disabled = !!busy || !open || (!!doc && !dirty());
    signBtn.disabled = !!busy || !open;
    saveBtn.setAttribute('aria-busy', String(busy === 'save'));
    signBtn.setAttribute('aria-busy', String(busy === 'sign'));
    setText(saveLabel, t(busy === 'save' ? 'concl.saving' : 'concl.save'));
    setText(signLabel, t(busy === 'sign' ? 'concl.signing' : 'concl.sign'));
    // An amendment: the form says which signed version it amends; before anything is saved, it can be dropped.
    const amended = amendedVersion();
    amendNote.hidden = !amended;
    if (amended) {
      setText(amendTitle, t('concl.amend.title', { version: amended }));
      setText(amendText, t('concl.amend.note', { version: amended }));
      form.setAttribute('aria-labelledby', amendTitle.id);
    } else form.removeAttribute('aria-labelledby');
    cancelBtn.hidden = !amendingNow();
    cancelBtn.disabled = !!busy;
    setText(cancelLabel, t('concl.amend.cancel'));
    // The signed document's actions.
    const d = shownDocument();
    pdfBtn.hidden = !d;
    pdfBtn.disabled = pdfBusy;
    pdfBtn.setAttribute('aria-busy', String(pdfBusy));
    setText(pdfLabel, t(pdfBusy ? 'concl.pdf.busy' : 'concl.pdf'));
    setText(printLabel, t('concl.print'));
    amendBtn.hidden = !(author() && doc?.status === 'signed' && writable());
    amendBtn.disabled = !!busy || !open;
    setText(amendLabel, t('concl.amend'));
    pdfErr.hidden = !pdfError;
    setText(pdfErr, pdfError ? t('concl.pdf.failed', { reason: errorText(pdfError, 'download') }) : '');
  }

  function renderNotice() {
    const items = [];
    if (loadError) {
      items.push(h('div', { class: 'notice' }, h('p', { text: t('concl.loadFailed', { reason: errorText(loadError, 'conclusion.get') }) }),
        h('button', { type: 'button', class: 'btn btn-secondary btn-small', on: { click: () => load() } }, t('chat.retry'))));
    }
    if (newer) {
      items.push(h('div', { class: 'notice' }, h('p', { text: t('concl.newer', { version: newer.version, time: fmtTime(newer.updated_at, now()) }) }),
        h('button', { type: 'button', class: 'btn btn-secondary btn-small', on: { click: () => { doc = newer; newer = null; fill(saved()); backup(); renderAll(); } } }, t('concl.loadNewer'))));
    }
    const sigText = items.map((i) => i.textContent).join('|');
    if (notice.dataset.sig !== sigText) { notice.dataset.sig = sigText; setChildren(notice, items); }
  }

  function renderBody() {
    const c = consult();
    let mode;
    if (!c) mode = 'none';
    else if (amendingNow() && writable()) mode = 'form';
    else if (signed()) mode = doc?.status === 'signed' ? 'doc' : 'fetching';
    else if (author() && WRITABLE.has(c.state)) mode = loaded ? 'form' : 'fetching';
    else if (author()) mode = 'closed';
    else mode = 'waiting';
    const key = mode === 'doc' ? `doc|${getLang()}|${doc.version}|${doc.signed_at}` : mode;
    if (body.dataset.mode === key) return;
    const active = document.activeElement;
    const hadFocus = body.contains(active);
    body.dataset.mode = key;
    if (mode === 'form') setChildren(body, form);
    else if (mode === 'doc') setChildren(body, conclusionDocument(doc, c), docFoot);
    else if (mode === 'fetching') setChildren(body, h('p', { class: 'hint', text: t('concl.loading') }));
    else if (mode === 'closed') setChildren(body, h('p', { class: 'hint', text: t('concl.closed', { state: t(`state.${c.state}`) }) }));
    else if (mode === 'waiting') setChildren(body, h('p', { class: 'hint', text: t(c.conclusion ? 'concl.waitingDraft' : 'concl.waiting') }));
    else setChildren(body);
    if (hadFocus && docFoot.contains(active) && body.contains(active)) active.focus(); // the document again (language switch)
    else if (hadFocus && !body.contains(document.activeElement)) {
      title.setAttribute('tabindex', '-1');
      title.focus();
    }
  }

  function relabelForm() {
    for (const f of Object.values(fields)) {
      setText(f.label, t(f.label.dataset.key));
      const hint = f === code ? codeHint : f.box.querySelector('.hint');
      if (hint) setText(hint, t(hint.dataset.key));
    }
    setChildren(datalist, COMMON_CODES.map(([c, ru, en]) => h('option', { value: c, label: getLang() === 'ru' ? ru : en })));
    if (form.dataset.tried) check({ complete: form.dataset.tried === 'sign' });
    if (formError) formErr.textContent = formError();
  }

  function renderAll() {
    setText(title, t('concl.title'));
    delivery.update(shownDocument());
    renderState();
    renderButtons();
    renderNotice();
    renderBody();
  }

  let seenSummary = '';
  /** The consult changed: fetch again when its conclusion summary did. */
  function update() {
    const s = consult()?.conclusion || null;
    const key = s ? `${s.status}|${s.version}` : '';
    if (key !== seenSummary) {
      const first = seenSummary === '' && !loaded;
      seenSummary = key;
      if (!first && (!doc || !s || doc.version !== s.version || doc.status !== s.status)) load();
    }
    renderAll();
  }

  relabelForm();
  seenSummary = (() => { const s = consult()?.conclusion; return s ? `${s.status}|${s.version}` : ''; })();
  renderAll();
  load();

  return {
    el,
    update,
    load,
    relabel() { relabelForm(); body.dataset.mode = ''; renderAll(); },
    focus() { (body.querySelector('textarea, input, button') || title).focus(); },
    destroy() {},
  };
}

