// views/attachment-parts.js — how attachments look and are chosen: a strip of
// a consult's or a message's files (image thumbnails that open larger in a
// dialog, PDFs as links that open the file), and the file picker of the
// request form and the chat (choose, check type and size against
// welcome.attachments, upload at once, list with status and Remove).
// Images are fetched with the Authorization header into blob: URLs
// (../attachments.js); no credential ever goes into a src or href.

import { h, setChildren, setText, nextId, svgIcon } from '../dom.js';
import { t, fmtSize } from '../i18n.js';
import { errorText } from '../errors.js';
import { attachmentUrl, uploadFile, checkFile, isImage, isPdf } from '../attachments.js';

// ---- showing attachments ---------------------------------------------------------------

const kindText = (type) => (isPdf(type) ? 'PDF' : (type || '').replace(/^image\//, '').toUpperCase());

/** "ECG.png (PNG, 180 KB)" */
export function attachmentLabel(a) {
  return t('att.label', { name: a.name || '', kind: kindText(a.type), size: fmtSize(a.size) });
}

function failed(el, err) {
  el.classList.add('is-failed');
  el.dataset.state = 'failed';
  const note = el.querySelector('.att-note');
  if (note) setText(note, t('att.unavailable', { reason: errorText(err, 'download') }));
}

/** One image thumbnail: a button that opens the picture in a dialog. */
function imageThumb(a, { large = false } = {}) {
  const img = h('img', { class: 'att-img', alt: '', decoding: 'async', dataset: { attId: a.id } });
  const note = h('span', { class: 'att-note', 'aria-hidden': 'true' });
  const btn = h('button', {
    type: 'button', class: ['att', 'att-image', large ? 'is-large' : ''], dataset: { state: 'loading', attId: a.id },
    'aria-label': t('att.openImage', { label: attachmentLabel(a) }), title: attachmentLabel(a),
  }, h('span', { class: 'att-frame' }, img), h('span', { class: 'att-name', text: a.name || '' }), note);
  attachmentUrl(a.id).then((url) => {
    img.addEventListener('load', () => { btn.dataset.state = 'ready'; }, { once: true });
    img.addEventListener('error', () => failed(btn, { code: 'invalid' }), { once: true });
    img.src = url;
  }, (err) => failed(btn, err));
  btn.addEventListener('click', () => openViewer(a));
  return btn;
}

/** A PDF (or any non-image): a link that fetches the file and opens it in a new tab. */
function fileLink(a) {
  const note = h('span', { class: 'att-note' });
  const link = h('a', {
    class: 'att att-file', href: '#', target: '_blank', rel: 'noopener', dataset: { attId: a.id },
    'aria-label': t('att.openFile', { label: attachmentLabel(a) }),
  }, h('span', { class: 'att-file-icon', 'aria-hidden': 'true', text: kindText(a.type) || 'FILE' }),
  h('span', { class: 'att-name', text: a.name || '' }),
  h('span', { class: 'att-size', text: fmtSize(a.size) }), note);
  link.addEventListener('click', async (e) => {
    if (link.dataset.ready) return; // the browser opens the blob URL itself
    e.preventDefault();
    link.setAttribute('aria-busy', 'true');
    setText(note, t('att.loading'));
    try {
      const url = await attachmentUrl(a.id);
      link.href = url;
      link.dataset.ready = '1';
      setText(note, '');
      // Still within the click's user activation: the new tab is not a blocked pop-up.
      window.open(url, '_blank', 'noopener');
    } catch (err) {
      failed(link, err);
    } finally {
      link.removeAttribute('aria-busy');
    }
  });
  return link;
}

/** A list of attachments, or null when there are none. */
export function attachmentStrip(list, { large = false, label } = {}) {
  const items = (Array.isArray(list) ? list : []).filter((a) => a && typeof a.id === 'string');
  if (!items.length) return null;
  return h('ul', { class: ['att-strip', large ? 'is-large' : ''], 'aria-label': label || t('att.listLabel', { n: items.length }) },
    items.map((a) => h('li', {}, isImage(a.type) ? imageThumb(a, { large }) : fileLink(a))));
}

/** The picture, large, in the page's modal dialog (Esc or Close to go back). */
export function openViewer(a) {
  const dlg = document.getElementById('dialog');
  const opener = document.activeElement;
  const titleId = 'dialog-title';
  const img = h('img', { class: 'viewer-img', alt: a.name || '' });
  const open = h('a', { class: 'btn btn-secondary', href: '#', target: '_blank', rel: 'noopener', hidden: true }, t('att.openTab'));
  const close = () => { dlg.close(); if (opener && opener.isConnected) opener.focus(); };
  const closeBtn = h('button', { type: 'button', class: 'btn btn-primary', on: { click: close } }, t('att.close'));
  setChildren(dlg, h('div', { class: 'dialog-body viewer' },
    h('h2', { id: titleId, text: attachmentLabel(a) }),
    h('div', { class: 'viewer-frame' }, img),
    h('div', { class: 'dialog-actions' }, open, closeBtn)));
  dlg.setAttribute('aria-labelledby', titleId);
  dlg.classList.add('is-viewer');
  dlg.addEventListener('close', () => dlg.classList.remove('is-viewer'), { once: true });
  dlg.oncancel = (e) => { e.preventDefault(); close(); };
  dlg.showModal();
  closeBtn.focus();
  attachmentUrl(a.id).then((url) => {
    img.src = url;
    open.href = url;
    open.hidden = false;
  }, (err) => img.replaceWith(h('p', { class: 'field-error', text: t('att.unavailable', { reason: errorText(err, 'download') }) })));
}

// ---- choosing and uploading ------------------------------------------------------------

const PAPERCLIP = 'M13.5 6.5l-5.8 5.8a1.8 1.8 0 0 0 2.5 2.5l6.3-6.3a3.3 3.3 0 0 0-4.7-4.7L5.5 10.1a4.8 4.8 0 0 0 6.8 6.8l4.7-4.7';

function clipIcon() {
  return svgIcon([PAPERCLIP], 18);
}

/**
 * A file picker that uploads what is chosen at once.
 * opts: policy() → {types, maxBytes} (welcome.attachments), max (files), compact (the chat's),
 *       labelKey, onChange().
 * API: el, ids() (uploaded ones), settle() (waits for uploads; resolves {ok, ids}),
 *      count, clear(), focus(), setDisabled(bool), relabel(), showError(text).
 */
export function createFilePicker({ policy, max, compact = false, labelKey = 'att.choose', onChange = () => {} }) {
  const id = nextId('files');
  const input = h('input', { type: 'file', id, class: 'file-input', multiple: true, 'aria-describedby': `${id}-hint ${id}-err` });
  const labelText = h('span', {});
  const label = h('label', { for: id, class: ['btn', 'btn-secondary', compact ? 'btn-small' : '', 'file-label'] }, clipIcon(), labelText);
  const hint = h('p', { id: `${id}-hint`, class: compact ? 'visually-hidden' : 'hint' });
  const list = h('ul', { class: 'file-list', 'aria-live': 'polite' });
  const error = h('p', { id: `${id}-err`, class: 'field-error', hidden: true });
  const el = h('div', { class: ['file-picker', compact ? 'is-compact' : ''] },
    h('div', { class: 'file-picker-row' }, input, label, hint), list, error);
  const items = []; // {file, name, size, state: uploading|ready|error, att, err, controller, done, row}
  let errorFn = null;

  function showError(fn) {
    errorFn = typeof fn === 'function' ? fn : fn ? () => fn : null;
    error.textContent = errorFn ? errorFn() : '';
    error.hidden = !errorFn;
  }

  function relabel() {
    setText(labelText, t(labelKey));
    const p = policy();
    if (p) {
      const kinds = p.types.map(kindText).join(', ');
      setText(hint, t('att.hint', { kinds, max: fmtSize(p.maxBytes), n: max }));
      input.setAttribute('accept', p.types.join(','));
    }
    if (errorFn) error.textContent = errorFn();
    for (const it of items) renderItem(it);
  }

  function renderItem(it) {
    const status = it.state === 'uploading' ? t('att.uploading')
      : it.state === 'ready' ? t('att.ready')
        : t('att.failed', { reason: errorText(it.err, 'upload') });
    const row = h('li', { class: ['file-item', `is-${it.state}`], dataset: { state: it.state } },
      h('span', { class: 'file-name', text: it.name }),
      h('span', { class: 'file-size', text: fmtSize(it.size) }),
      h('span', { class: 'file-status', text: status }),
      h('button', {
        type: 'button', class: 'btn btn-quiet btn-small', 'aria-label': t('att.remove', { name: it.name }),
        on: { click: () => remove(it) },
      }, t('att.removeShort')));
    if (it.row) it.row.replaceWith(row);
    else list.append(row);
    it.row = row;
  }

  function remove(it) {
    const i = items.indexOf(it);
    if (i < 0) return;
    items.splice(i, 1);
    it.controller.abort();
    const next = it.row.nextElementSibling || it.row.previousElementSibling;
    it.row.remove();
    (next?.querySelector('button') || input).focus();
    showError(null);
    onChange();
  }

  function add(file) {
    const it = { file, name: file.name, size: file.size, state: 'uploading', att: null, err: null, controller: new AbortController(), row: null };
    items.push(it);
    renderItem(it);
    it.done = uploadFile(file, { signal: it.controller.signal }).then((att) => {
      it.att = att;
      it.state = 'ready';
    }, (err) => {
      if (err.code === 'aborted') return;
      it.err = err;
      it.state = 'error';
    }).finally(() => {
      if (items.includes(it)) { renderItem(it); onChange(); }
    });
  }

  input.addEventListener('change', () => {
    const p = policy();
    const chosen = [...input.files];
    input.value = ''; // the same file may be chosen again after a removal
    if (!p) return;
    const problems = [];
    for (const file of chosen) {
      if (items.length >= max) { problems.push(() => t('att.v.tooMany', { n: max })); break; }
      const bad = checkFile(file, p);
      if (bad) problems.push(() => t(bad.key, { ...bad.params, max: fmtSize(p.maxBytes), kinds: p.types.map(kindText).join(', ') }));
      else add(file);
    }
    showError(problems.length ? () => problems.map((f) => f()).join(' ') : null);
    onChange();
  });

  relabel();
  return {
    el,
    relabel,
    showError,
    get count() { return items.length; },
    get uploading() { return items.some((it) => it.state === 'uploading'); },
    ids: () => items.filter((it) => it.state === 'ready').map((it) => it.att.id),
    /** Waits for uploads in flight; ok is false when a file failed (it stays listed with its reason). */
    async settle() {
      await Promise.all(items.map((it) => it.done));
      return { ok: !items.some((it) => it.state === 'error'), ids: items.filter((it) => it.state === 'ready').map((it) => it.att.id) };
    },
    clear() {
      for (const it of items.splice(0)) { it.controller.abort(); it.row?.remove(); }
      showError(null);
      onChange();
    },
    focus() { input.focus(); },
    setDisabled(disabled) {
      input.disabled = !!disabled;
      label.classList.toggle('is-disabled', !!disabled);
    },
  };
}
