// views/call.js — the consultation room, reached by "Join" or "Open"
// (#/call/<consult id>). Joins the room (consult.join), shows the consult and
// its participants with presence, and offers Leave (consult.leave) and End
// (consult.end). Leaving this view also leaves the room; after a reconnect the
// app calls rejoin(): join again, a fresh media offer, the chat history and
// the conclusion fetched again; while the link is down the room says it is
// reconnecting (onConnection).
//
// Two arrangements: a realtime consult under way is a call — the video
// (../call.js, drawn by ./media.js) in the main column, and beside it the
// participants and tabs for the chat, the conclusion and the case; a deferred
// or finished consult is a case — the request and the conclusion in the main
// column, the participants and the chat beside them. The chat (./chat.js) and
// the conclusion (./conclusion.js) are built once and moved between the two.

import { h, setChildren, setText } from '../dom.js';
import { t, applyI18n, fmtTime, specialtyLabel } from '../i18n.js';
import { isActive, isFinal, participantOf } from '../store.js';
import { errorText, announce } from '../errors.js';
import { MediaCall, mediaSupported } from '../call.js';
import { createMediaPanel } from './media.js';
import { createPrecall } from './precall.js';
import { createChatPanel } from './chat.js';
import { createConclusionPanel } from './conclusion.js';
import { createTabs } from './tabs.js';
import { attachmentStrip } from './attachment-parts.js';
import {
  urgencyBadge, stateBadge, modeBadge, patientLine, centreLine, participantsList, reasonBlock, timesLine,
  actionButton, confirmDialog, now,
} from './parts.js';

export function createCallView(ctx, consultId) {
  const { store, user, chat } = ctx;
  let joined = false;
  let joining = false;
  let rejoining = false;   // the link came back: joining again, the call's panel stays
  let offline = !ctx.isOpen();
  let leftOnPurpose = false;
  let joinError = '';
  let mode = '';           // 'live' (a realtime call) | 'case'

  const title = h('h2', { id: 'call-title', tabindex: '-1' });
  const badges = h('div', { class: 'badges' });
  const patient = h('div', { class: 'call-patient' });
  const summary = h('div', { class: 'call-summary' });
  const roomStatus = h('p', { class: 'room-status', role: 'status' });
  const actions = h('div', { class: 'card-actions call-actions' });
  const participants = h('div', { class: 'call-participants', 'aria-live': 'polite' });
  const mediaSlot = h('section', { class: 'media-slot', 'data-media-slot': consultId, 'aria-labelledby': 'media-title' });
  const placeholderTitle = h('h3', { id: 'media-title', class: 'visually-hidden' });
  const placeholderText = h('p', { class: 'media-title' });
  const placeholder = h('div', { class: 'media-placeholder' },
    placeholderTitle,
    h('span', { class: 'media-icon', 'aria-hidden': 'true', text: '▢' }),
    placeholderText);
  let call = null;   // the MediaCall, once a realtime room was joined
  let panel = null;  // its panel
  let precall = null;        // the pre-call check (camera, microphone), while no call has started
  let precallReady = false;  // not before the first join attempt: a join that goes on starts the call at once
  const back = h('a', { href: '#/', class: 'back-link' }, h('span', { 'aria-hidden': 'true', text: '← ' }), h('span', { 'data-i18n': 'act.back' }));
  const unreadBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-small unread-jump', hidden: true, on: { click: showChat } });

  // ---- the parts that move between the two arrangements ------------------------------
  let chatShown = false; // the chat panel is on screen (its tab selected, scrolled into view)
  const chatPanel = createChatPanel(ctx, consultId, { isShown: () => chatShown });
  const conclusion = createConclusionPanel(ctx, consultId);
  const caseAttachments = h('div', { class: 'case-attachments' });
  const casePanel = h('section', { class: 'case-panel', 'aria-labelledby': 'call-details-title' },
    h('h3', { id: 'call-details-title', 'data-i18n': 'call.details' }), summary, caseAttachments);
  const tabs = createTabs({
    label: () => t('call.tabs'),
    tabs: [
      { key: 'chat', label: () => t('chat.title') },
      { key: 'conclusion', label: () => t('concl.title') },
      { key: 'case', label: () => t('call.tab.case') },
    ],
    onSelect: () => { layoutChanged(); },
  });
  const mainCol = h('div', { class: 'call-main' });
  const sideTabs = h('div', { class: 'panel call-tabs' });
  const sideChat = h('div', { class: 'panel call-chat' });
  const mainCase = h('div', { class: 'panel call-case' });
  const mainConclusion = h('div', { class: 'panel call-conclusion' });
  const peoplePanel = h('section', { class: 'panel call-people', 'aria-labelledby': 'call-people-title' },
    h('h3', { id: 'call-people-title', 'data-i18n': 'call.participants' }), participants);
  const sideCol = h('div', { class: 'call-side' }, peoplePanel);
  const body = h('div', { class: 'call-body' }, mainCol, sideCol);

  const el = h('div', { class: 'layout layout-call' },
    h('div', { class: 'call-top' }, back),
    h('section', { class: 'panel call-head', 'aria-labelledby': 'call-title' },
      h('div', { class: 'call-head-main' }, h('div', { class: 'call-title-row' }, title, badges), patient),
      h('div', { class: 'call-head-side' }, roomStatus, unreadBtn, actions)),
    body);

  const consult = () => store.get(consultId);
  const mayEnd = (c) => !!c && isActive(c) && user.role !== 'patient' && user.role !== 'interpreter'
    && (user.role === 'coordinator' || c.specialist?.subject === user.subject || c.clinician?.subject === user.subject);

  /** live: the video beside tabs; case: request and conclusion beside participants and chat. */
  function arrange() {
    const c = consult();
    const next = c && c.mode === 'realtime' && !isFinal(c) ? 'live' : 'case';
    if (next === mode) return;
    const hadFocus = document.activeElement;
    mode = next;
    body.dataset.mode = mode;
    if (mode === 'live') {
      setChildren(mainCol, mediaSlot);
      tabs.panel('chat').append(chatPanel.el);
      tabs.panel('conclusion').append(conclusion.el);
      tabs.panel('case').append(casePanel);
      setChildren(sideTabs, tabs.el);
      setChildren(sideCol, peoplePanel, sideTabs);
    } else {
      mediaSlot.remove();
      setChildren(mainCase, casePanel);
      setChildren(mainConclusion, conclusion.el);
      setChildren(mainCol, mainCase, mainConclusion);
      setChildren(sideChat, chatPanel.el);
      setChildren(sideCol, peoplePanel, sideChat);
      closePrecall();
    }
    if (hadFocus && hadFocus.isConnected && el.contains(hadFocus)) hadFocus.focus();
    layoutChanged();
  }

  // ---- the chat in view, and unread messages ------------------------------------------------
  const chatObserver = new IntersectionObserver((entries) => {
    const wasShown = chatShown;
    chatShown = entries.some((e) => e.isIntersecting);
    if (chatShown && !wasShown) chatPanel.onShown();
    renderUnread();
  }, { threshold: 0.15 });
  chatObserver.observe(chatPanel.el);

  function layoutChanged() {
    // A tab switch changes what is shown without the observer noticing at once.
    if (mode === 'live' && tabs.selected !== 'chat') chatShown = false;
    body.dataset.tab = mode === 'live' ? tabs.selected : ''; // the conclusion's tab gets a wider column
    renderUnread();
    fitMedia();
  }

  function renderUnread() {
    const n = chat.unread(consultId);
    tabs.setCount('chat', mode === 'live' && tabs.selected !== 'chat' ? n : 0, () => t('chat.unread', { n }));
    const show = n > 0 && !chatShown;
    unreadBtn.hidden = !show;
    if (show) setText(unreadBtn, t('chat.unreadJump', { n }));
  }

  function showChat() {
    if (mode === 'live') tabs.select('chat');
    chatPanel.el.scrollIntoView({ block: 'nearest' });
    chatPanel.focus();
  }

  const onChat = (e) => { if (!e.detail.consultId || e.detail.consultId === consultId) renderUnread(); };
  chat.addEventListener('change', onChat);

  // ---- joining ------------------------------------------------------------------------------

  async function join() {
    const c = consult();
    if (!c || !isActive(c) || !participantOf(c, user) || joining || !ctx.isOpen()) { rejoining = false; update(); return; }
    joining = true;
    joinError = '';
    update();
    try {
      const reply = await ctx.request('consult.join', { consult_id: consultId });
      store.apply(reply);
      joined = true;
      leftOnPurpose = false;
      announce(t(rejoining ? 'call.rejoined' : 'call.inRoom'));
      ctx.enterCall();
      startMedia();
    } catch (err) {
      joinError = errorText(err, 'join');
      if (rejoining && call) call.stop({ leave: false });
    } finally {
      joining = false;
      rejoining = false;
      update();
    }
  }

  // ---- the video call ----------------------------------------------------------

  const mediaReason = (c) => {
    if (!c) return 'call.mediaPlaceholder';
    if (c.mode !== 'realtime') return 'call.mediaDeferred';
    if (isFinal(c)) return 'call.mediaEnded';
    if (!ctx.mediaConfig()) return 'call.mediaUnavailable';
    if (!mediaSupported()) return 'call.mediaUnsupported';
    if (!participantOf(c, user)) return 'call.mediaObserver';
    return 'call.mediaPlaceholder';
  };

  const roleOf = (subject) => (consult()?.participants || []).find((p) => p.subject === subject)?.role || null;

  function startMedia() {
    const c = consult();
    if (!c || c.mode !== 'realtime' || !isActive(c) || !ctx.mediaConfig() || !mediaSupported()) return;
    if (!call) {
      call = new MediaCall({
        consultId,
        request: (type, fields) => ctx.request(type, fields),
        isOpen: () => ctx.isOpen(),
        config: () => ctx.mediaConfig(),
        freshConfig: () => ctx.freshMediaConfig(),
        expectedPeers: () => (consult()?.participants || [])
          .filter((p) => p.present && !(p.subject === user.subject && p.tenant === user.tenant)).length,
      });
      panel = createMediaPanel(call, {
        me: user,
        roleOf,
        present: () => (consult()?.participants || [])
          .filter((p) => p.present && !(p.subject === user.subject && p.tenant === user.tenant)),
      });
    }
    closePrecall(); // its devices are released; the call opens the ones chosen there
    call.start();
    renderMedia();
  }

  function stopMedia(opts) {
    if (call && call.status !== 'stopped' && call.status !== 'idle') call.stop(opts);
    renderMedia();
  }

  function renderMedia() {
    const c = consult();
    if (mode !== 'live') { closePrecall(); return; }
    const live = !!call && (joined || rejoining || offline) && !!c && isActive(c) && call.status !== 'idle' && call.status !== 'stopped';
    mediaSlot.classList.toggle('is-live', live);
    if (live) {
      if (mediaSlot.firstChild !== panel.el) setChildren(mediaSlot, panel.el);
      panel.render(); // presence may have changed
      fitMedia();
      return;
    }
    setText(placeholderTitle, t('call.media'));
    setText(placeholderText, t(mediaReason(c)));
    const check = precallReady && !call && !joining && !!c && c.mode === 'realtime' && !isFinal(c)
      && !!participantOf(c, user) && !!ctx.mediaConfig() && mediaSupported();
    if (check && !precall) precall = createPrecall();
    else if (!check) closePrecall();
    if (mediaSlot.firstChild !== placeholder || mediaSlot.children[1] !== precall?.el) setChildren(mediaSlot, placeholder, precall?.el);
    mediaSlot.classList.toggle('has-precall', !!precall);
  }

  function closePrecall() {
    if (!precall) return;
    precall.stop();
    precall.el.remove();
    precall = null;
    mediaSlot.classList.remove('has-precall');
  }

  /** The live call fills the window below its top (at least 400 px), toolbar in view; the side
   *  column beside it is as tall, its chat scrolling inside. */
  function fitMedia() {
    if (mode !== 'live') { body.style.removeProperty('--media-h'); return; }
    const top = body.getBoundingClientRect().top + window.scrollY;
    // One column (narrow screens): the video leaves room for the chat below it.
    const narrow = window.matchMedia('(max-width: 900px)').matches;
    const height = narrow
      ? Math.round(Math.max(300, Math.min(window.innerHeight * 0.6, window.innerHeight - top - 16)))
      : Math.round(Math.min(900, Math.max(440, window.innerHeight - top - 16)));
    if (body.style.getPropertyValue('--media-h') !== `${height}px`) body.style.setProperty('--media-h', `${height}px`);
  }
  const headObserver = new ResizeObserver(() => fitMedia());
  headObserver.observe(el.querySelector('.call-head'));
  window.addEventListener('resize', fitMedia);

  async function leave() {
    stopMedia({ leave: true });
    const reply = await ctx.act('consult.leave', { consult_id: consultId });
    if (reply) {
      joined = false;
      leftOnPurpose = true;
      ctx.leaveCall();
      ctx.navigate('#/');
    }
  }

  async function end() {
    const c = consult();
    const ok = await confirmDialog({ title: t('confirm.end.title'), body: t('confirm.end.body', { patient: c?.patient?.name || '' }), ok: t('confirm.end.ok') });
    if (!ok) return;
    stopMedia({ leave: true }); // consult.end would end it anyway; this closes ours first
    if (await ctx.act('consult.end', { consult_id: consultId })) {
      joined = false;
      ctx.leaveCall();
    } else if (joined) {
      startMedia(); // not ended (the error says why): the call goes on
    }
  }

  function statusText(c, me) {
    if (isFinal(c)) {
      const key = c.state === 'ended' ? 'call.ended' : c.state === 'cancelled' ? 'call.cancelled' : 'call.expired';
      return t(key, { time: fmtTime(c.ended_at ?? c.updated_at, now()) });
    }
    if (!isActive(c)) return t('call.notOpen');
    if (offline && (joined || rejoining) && !leftOnPurpose) return t('call.reconnecting');
    if (rejoining || (joining && joined)) return t('call.rejoining');
    if (joinError) return joinError;
    if (joining) return t('call.joining');
    if (me && me.present) return t('call.inRoom');
    if (me) return leftOnPurpose ? t('call.left') : t('call.notInRoom');
    return '';
  }

  function update() {
    const c = consult();
    arrange();
    if (!c) {
      setText(title, t('call.title'));
      setChildren(badges);
      setChildren(patient, h('p', { class: 'notice', text: t('call.notFound') }));
      setChildren(summary);
      setChildren(caseAttachments);
      setText(roomStatus, '');
      setChildren(actions);
      setChildren(participants);
      renderMedia();
      return;
    }
    setText(title, `${t(c.mode === 'realtime' && !isFinal(c) ? 'call.title' : 'call.caseTitle')}: ${specialtyLabel(c.specialty)}`);
    setChildren(badges, urgencyBadge(c.urgency), stateBadge(c.state), modeBadge(c.mode));
    setChildren(patient, patientLine(c));
    setChildren(summary,
      h('p', { class: 'meta', text: t('c.clinician', { name: c.clinician?.name || '' }) }),
      c.specialist ? h('p', { class: 'meta', text: t('c.specialist', { name: c.specialist.name }) }) : null,
      centreLine(c, user),
      timesLine(c),
      reasonBlock(c, { clamp: false }));
    const attSig = `${mode}|${JSON.stringify(c.attachments || [])}`;
    if (caseAttachments.dataset.sig !== attSig) {
      caseAttachments.dataset.sig = attSig;
      const strip = attachmentStrip(c.attachments, { large: mode === 'case', label: t('att.requestFiles') });
      setChildren(caseAttachments, strip ? [h('p', { class: 'reason-label', text: t('att.requestFiles') }), strip] : []);
    }
    setChildren(participants, participantsList(c, user));

    const me = participantOf(c, user);
    if (isFinal(c)) {
      if (joined) ctx.leaveCall();
      joined = false;
      stopMedia({ leave: false });
    }
    setText(roomStatus, statusText(c, me));
    const reconnecting = offline && (joined || rejoining) && !leftOnPurpose && isActive(c);
    roomStatus.classList.toggle('is-error', !!joinError && isActive(c) && !reconnecting);
    roomStatus.classList.toggle('is-final', isFinal(c));
    roomStatus.classList.toggle('is-reconnecting', reconnecting || rejoining);
    el.dataset.connection = reconnecting ? 'reconnecting' : rejoining ? 'rejoining' : 'open';

    const buttons = [];
    if (isActive(c) && me && !me.present && !joining && !rejoining && !offline) {
      buttons.push(actionButton(t('call.rejoin'), join, { variant: 'primary', focusName: 'rejoin' }));
    }
    if (isActive(c) && me && me.present) buttons.push(actionButton(t('act.leave'), leave, { variant: 'secondary', focusName: 'leave' }));
    if (mayEnd(c)) buttons.push(actionButton(t('act.end'), end, { variant: 'danger', focusName: 'end' }));
    if (isFinal(c)) buttons.push(h('a', { href: '#/', class: 'btn btn-primary' }, t('act.back')));
    const focusName = actions.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
    setChildren(actions, buttons);
    if (focusName) actions.querySelector(`[data-focus="${focusName}"]`)?.focus();
    chatPanel.update();
    conclusion.update();
    renderUnread();
    renderMedia();
  }

  applyI18n(el);
  applyI18n(casePanel); // not in el until arranged
  update();
  setTimeout(() => title.focus(), 0);
  join();
  precallReady = true;
  renderMedia();

  return {
    el,
    update,
    relabel() {
      applyI18n(el);
      tabs.relabel();
      chatPanel.relabel();
      conclusion.relabel();
      caseAttachments.dataset.sig = '';
      update();
      panel?.render();
      precall?.relabel();
    },
    /** After a reconnect (welcome): the server marked us absent when the link dropped,
     *  and ended this connection's media; the call starts again after the join (a new
     *  peer connection, a fresh offer), and the chat and the conclusion are fetched again. */
    rejoin() {
      offline = false;
      const wasIn = joined || !!call?.pc || call?.status === 'reconnecting';
      joined = false;
      if (call) {
        if (leftOnPurpose) call.stop({ leave: false, release: true });
        else call.suspend();
      }
      chatPanel.load();
      conclusion.load();
      if (!leftOnPurpose) {
        rejoining = wasIn;
        join();
      } else update();
    },
    /** The signalling link's state (app.js): 'reconnecting' while it is down. */
    onConnection(state) {
      const was = offline;
      offline = state !== 'open';
      if (offline && !was) {
        if (call && call.status !== 'idle' && call.status !== 'stopped') call.suspend();
        announce(t('call.reconnecting'));
      }
      update();
    },
    /** media.* notices (app.js). */
    onMediaNotice(msg) {
      call?.onNotice(msg);
    },
    destroy() {
      headObserver.disconnect();
      chatObserver.disconnect();
      chat.removeEventListener('change', onChat);
      window.removeEventListener('resize', fitMedia);
      if (call) call.stop({ leave: true });
      closePrecall();
      panel?.destroy();
      chatPanel.destroy();
      conclusion.destroy();
      const c = consult();
      if (joined && c && isActive(c) && ctx.isOpen()) {
        ctx.request('consult.leave', { consult_id: consultId }).then((r) => store.apply(r), () => {});
      }
      ctx.leaveCall();
      joined = false;
    },
  };
}
