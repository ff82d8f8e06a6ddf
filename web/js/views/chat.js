// views/chat.js — the consult's chat, in the room view (beside the video, or
// the main conversation of a deferred consult): messages with sender, role,
// time, text (newlines kept) and attachments (thumbnails that open larger, PDF
// links); a composer (Enter sends, Shift+Enter starts a new line, files through
// the attach button); chat.send; history through chat.history when the panel
// opens and after every reconnect (ChatStore in ../chat-store.js holds what the
// chat.message notices bring). Reading happens when the panel is in view:
// isShown() says whether it is (a tab not selected, a narrow screen scrolled
// away) so that the room can count the unread ones.

import { h, setChildren, setText, renderKeyed } from '../dom.js';
import { t, getLang, fmtTime } from '../i18n.js';
import { errorText } from '../errors.js';
import { isActive, isFinal, participantOf } from '../store.js';
import { attachmentStrip, createFilePicker } from './attachment-parts.js';
import { now } from './parts.js';

const TEXT_MAX_BYTES = 4000;
const CHAT_FILES_MAX = 4;
const encoder = new TextEncoder();
const CONTROL_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * ctx: the app context (store, chat, user, request, isOpen, attachmentPolicy).
 * opts.isShown() → whether the panel is visible to the user now.
 * API: el, update(), load() (history again), onShown(), relabel(), focus(), destroy().
 */
export function createChatPanel(ctx, consultId, { isShown = () => true } = {}) {
  const { store, chat, user } = ctx;
  const titleId = `chat-title-${consultId}`;
  const title = h('h3', { id: titleId, class: 'chat-title' });
  const status = h('div', { class: 'chat-status', role: 'status' });
  const earlier = h('button', { type: 'button', class: 'btn btn-quiet btn-small chat-earlier', hidden: true, on: { click: loadEarlier } });
  const list = h('ol', { class: 'chat-list', role: 'log', 'aria-labelledby': titleId, tabindex: '0' });
  const empty = h('p', { class: 'chat-empty' });
  const jump = h('button', { type: 'button', class: 'btn btn-primary btn-small chat-jump', hidden: true, on: { click: () => { scrollToEnd(); jump.hidden = true; } } });
  const textId = `chat-text-${consultId}`;
  const textLabel = h('label', { for: textId, class: 'visually-hidden' });
  const hintId = `${textId}-hint`;
  const errId = `${textId}-err`;
  const text = h('textarea', { id: textId, class: 'chat-input', rows: '2', 'aria-describedby': `${hintId} ${errId}` });
  const hint = h('p', { id: hintId, class: 'chat-hint' });
  const sendLabel = h('span', {});
  const send = h('button', { type: 'submit', class: 'btn btn-primary chat-send' }, sendLabel);
  const error = h('p', { id: errId, class: 'field-error', role: 'alert', hidden: true });
  const closedNote = h('p', { class: 'chat-closed', hidden: true });
  const picker = createFilePicker({ policy: () => ctx.attachmentPolicy(), max: CHAT_FILES_MAX, compact: true, labelKey: 'chat.attach', onChange: () => updateComposer() });
  const form = h('form', { class: 'chat-composer', novalidate: true },
    textLabel, text,
    h('div', { class: 'chat-composer-row' }, picker.el, send),
    hint, error);
  const el = h('section', { class: 'chat-panel', 'aria-labelledby': titleId, dataset: { consult: consultId } },
    title, status, earlier,
    h('div', { class: 'chat-scroll' }, list, empty, jump),
    closedNote, form);

  let sending = false;
  let errorFn = null;
  let lastCount = 0;

  const consult = () => store.get(consultId);
  const mayWrite = (c) => !!c && isActive(c) && !!participantOf(c, user);

  function showError(fn) {
    errorFn = fn;
    error.textContent = fn ? fn() : '';
    error.hidden = !fn;
    if (fn) text.setAttribute('aria-invalid', 'true');
    else text.removeAttribute('aria-invalid');
  }

  function closedReason(c) {
    if (!c) return t('chat.closed.unknown');
    if (isFinal(c)) return t('chat.closed.final');
    if (!isActive(c)) return t('chat.closed.notYet');
    if (!participantOf(c, user)) return t('chat.closed.notParticipant');
    if (!ctx.isOpen()) return t('chat.closed.offline');
    return '';
  }

  function updateComposer() {
    const c = consult();
    const reason = closedReason(c);
    form.hidden = !mayWrite(c);
    setText(closedNote, reason);
    closedNote.hidden = !reason;
    const blocked = !!reason;
    text.disabled = blocked;
    picker.setDisabled(blocked || !ctx.attachmentPolicy());
    picker.el.hidden = !ctx.attachmentPolicy();
    send.disabled = blocked || sending;
    send.setAttribute('aria-busy', String(sending));
    setText(sendLabel, sending ? t('chat.sending') : t('chat.send'));
  }

  // ---- the messages ----------------------------------------------------------------

  function roleText(m) {
    const role = m.from?.role || (store.get(consultId)?.participants || []).find((p) => p.subject === m.from?.subject)?.role;
    return role ? t(`role.${role}`) : '';
  }

  function renderMessage(m) {
    const mine = chat.mine(m);
    const at = Number.isFinite(m.at) ? new Date(m.at) : null;
    return h('li', { class: ['chat-msg', mine ? 'is-mine' : ''], dataset: { seq: String(m.seq), id: m.id } },
      h('p', { class: 'chat-meta' },
        h('span', { class: 'chat-from', text: mine ? t('chat.you') : (m.from?.name || m.from?.subject || '') }),
        h('span', { class: 'chat-role', text: roleText(m) }),
        at ? h('time', { class: 'chat-time', datetime: at.toISOString(), text: fmtTime(m.at, now()) }) : null),
      m.text ? h('p', { class: 'chat-text', text: m.text }) : null,
      attachmentStrip(m.attachments, { label: t('chat.files') }));
  }

  const atEnd = () => list.scrollHeight - list.scrollTop - list.clientHeight < 48;
  function scrollToEnd() { list.scrollTop = list.scrollHeight; }

  function update() {
    const st = chat.state(consultId);
    const msgs = chat.list(consultId);
    const wasAtEnd = atEnd();
    renderKeyed(list, msgs, { key: (m) => m.id, render: renderMessage, signature: (m) => `${getLang()}|${JSON.stringify(m)}` });
    const grew = msgs.length > lastCount;
    const lastMine = grew && chat.mine(msgs.at(-1));
    if (grew && (wasAtEnd || lastMine || lastCount === 0)) scrollToEnd();
    else if (grew) {
      jump.hidden = false;
      setText(jump, t('chat.jump'));
    }
    lastCount = msgs.length;
    empty.hidden = msgs.length > 0 || !st.loaded;
    setText(empty, t('chat.empty'));
    earlier.hidden = !st.hasEarlier;
    setText(earlier, t('chat.earlier'));
    if (st.loading && !st.loaded) setChildren(status, h('p', { class: 'chat-loading', text: t('chat.loading') }));
    else if (st.error) {
      setChildren(status, h('div', { class: 'notice chat-error' },
        h('p', { text: t('chat.loadFailed', { reason: errorText(st.error, 'chat.history') }) }),
        h('button', { type: 'button', class: 'btn btn-secondary btn-small', on: { click: () => load() } }, t('chat.retry'))));
    } else setChildren(status);
    updateComposer();
    if (isShown() && document.visibilityState === 'visible') chat.markRead(consultId);
  }

  async function load() {
    if (!ctx.isOpen()) return;
    try { await chat.load(consultId, ctx.request); } catch { /* shown by update() */ }
  }

  async function loadEarlier() {
    const first = chat.list(consultId)[0];
    if (!first) return;
    const height = list.scrollHeight;
    earlier.disabled = true;
    try {
      await chat.load(consultId, ctx.request, { beforeSeq: first.seq });
      list.scrollTop += list.scrollHeight - height; // keep the reader's place
    } catch { /* shown by update() */ }
    earlier.disabled = false;
  }

  list.addEventListener('scroll', () => { if (atEnd()) jump.hidden = true; });

  // ---- sending -------------------------------------------------------------------------

  text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  text.addEventListener('input', () => { if (errorFn) showError(null); });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (sending || text.disabled) return;
    const body = text.value.replace(/^\s*\n|\s+$/g, '');
    if (CONTROL_TEXT.test(body)) { showError(() => t('v.control')); text.focus(); return; }
    const bytes = encoder.encode(body).length;
    if (bytes > TEXT_MAX_BYTES) {
      const over = Math.max(1, Math.ceil((bytes - TEXT_MAX_BYTES) / (bytes / [...body].length)));
      showError(() => t('v.tooLong', { over }));
      text.focus();
      return;
    }
    if (!body.trim() && picker.count === 0) { showError(() => t('chat.emptyMessage')); text.focus(); return; }
    showError(null);
    sending = true;
    updateComposer();
    try {
      const files = await picker.settle();
      if (!files.ok) { showError(() => t('att.someFailed')); return; }
      if (!body.trim() && !files.ids.length) { showError(() => t('chat.emptyMessage')); return; }
      const fields = { consult_id: consultId, text: body.trim() ? body : '' };
      if (files.ids.length) fields.attachments = files.ids;
      const reply = await ctx.request('chat.send', fields);
      if (reply?.message) chat.upsert(reply.message);
      text.value = '';
      picker.clear();
      scrollToEnd();
    } catch (err) {
      showError(() => errorText(err, 'chat.send'));
      if (err.code === 'wrong_state') ctx.sync();
    } finally {
      sending = false;
      updateComposer();
      if (!text.disabled) text.focus();
    }
  });

  function relabel() {
    setText(title, t('chat.title'));
    setText(textLabel, t('chat.message'));
    setText(hint, t('chat.hint'));
    text.setAttribute('placeholder', t('chat.placeholder'));
    picker.relabel();
    if (errorFn) error.textContent = errorFn();
    update(); // every message's signature holds the language: they are drawn again
  }

  const onStore = (e) => { if (!e.detail.consultId || e.detail.consultId === consultId) update(); };
  chat.addEventListener('change', onStore);
  const onVisible = () => { if (document.visibilityState === 'visible' && isShown()) chat.markRead(consultId); };
  document.addEventListener('visibilitychange', onVisible);

  relabel();
  load();

  return {
    el,
    update,
    load,
    relabel,
    /** The panel became visible (its tab chosen): what is there is read now. */
    onShown() {
      chat.markRead(consultId);
      if (jump.hidden) scrollToEnd();
    },
    focus() { (text.disabled ? list : text).focus(); },
    destroy() {
      chat.removeEventListener('change', onStore);
      document.removeEventListener('visibilitychange', onVisible);
      picker.clear();
    },
  };
}
