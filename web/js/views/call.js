// views/call.js — the consultation room, reached by "Join" (#/call/<consult id>).
// Joins the room (consult.join), shows the consult and its participants with
// presence, and offers Leave (consult.leave) and End (consult.end). Leaving
// this view also leaves the room; after a reconnect the app calls rejoin().
// For a realtime consult the video call (../call.js, drawn by ./media.js)
// starts in the data-media-slot section once the join has succeeded, and
// stops on leave, end, a final state, and destroy(); media.* notices reach it
// through onMediaNotice().

import { h, setChildren, setText } from '../dom.js';
import { t, applyI18n, fmtTime, specialtyLabel } from '../i18n.js';
import { isActive, isFinal, participantOf } from '../store.js';
import { errorText, announce } from '../errors.js';
import { MediaCall, mediaSupported } from '../call.js';
import { createMediaPanel } from './media.js';
import { createPrecall } from './precall.js';
import {
  urgencyBadge, stateBadge, modeBadge, patientLine, centreLine, participantsList, reasonBlock, timesLine,
  actionButton, confirmDialog, now,
} from './parts.js';

export function createCallView(ctx, consultId) {
  const { store, user } = ctx;
  let joined = false;
  let joining = false;
  let leftOnPurpose = false;
  let joinError = '';

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

  const el = h('div', { class: 'layout layout-call' },
    h('div', { class: 'call-top' }, back),
    h('section', { class: 'panel call-head', 'aria-labelledby': 'call-title' },
      h('div', { class: 'call-head-main' }, h('div', { class: 'call-title-row' }, title, badges), patient),
      h('div', { class: 'call-head-side' }, roomStatus, actions)),
    h('div', { class: 'call-body' },
      mediaSlot,
      h('div', { class: 'call-side' },
        h('section', { class: 'panel', 'aria-labelledby': 'call-people-title' },
          h('h3', { id: 'call-people-title', 'data-i18n': 'call.participants' }),
          participants),
        h('section', { class: 'panel', 'aria-labelledby': 'call-details-title' },
          h('h3', { id: 'call-details-title', 'data-i18n': 'call.details' }),
          summary))));

  const consult = () => store.get(consultId);
  const mayEnd = (c) => !!c && isActive(c) && user.role !== 'patient' && user.role !== 'interpreter'
    && (user.role === 'coordinator' || c.specialist?.subject === user.subject || c.clinician?.subject === user.subject);

  async function join() {
    const c = consult();
    if (!c || !isActive(c) || !participantOf(c, user) || joining || !ctx.isOpen()) return;
    joining = true;
    joinError = '';
    update();
    try {
      const reply = await ctx.request('consult.join', { consult_id: consultId });
      store.apply(reply);
      joined = true;
      leftOnPurpose = false;
      announce(t('call.inRoom'));
      ctx.enterCall();
      startMedia();
    } catch (err) {
      joinError = errorText(err, 'join');
    } finally {
      joining = false;
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
    return 'call.mediaPlaceholder';
  };

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
    const live = !!call && joined && !!c && isActive(c) && call.status !== 'idle';
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

  /** The live panel fills the window below its top (at least 400 px), toolbar in view. */
  function fitMedia() {
    if (!mediaSlot.classList.contains('is-live')) return;
    const top = mediaSlot.getBoundingClientRect().top + window.scrollY;
    const height = Math.round(Math.min(900, Math.max(400, window.innerHeight - top - 16)));
    if (mediaSlot.style.getPropertyValue('--media-h') !== `${height}px`) mediaSlot.style.setProperty('--media-h', `${height}px`);
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

  function update() {
    const c = consult();
    if (!c) {
      setText(title, t('call.title'));
      setChildren(badges);
      setChildren(patient, h('p', { class: 'notice', text: t('call.notFound') }));
      setChildren(summary);
      setText(roomStatus, '');
      setChildren(actions);
      setChildren(participants);
      renderMedia();
      return;
    }
    setText(title, `${t('call.title')}: ${specialtyLabel(c.specialty)}`);
    setChildren(badges, urgencyBadge(c.urgency), stateBadge(c.state), modeBadge(c.mode));
    setChildren(patient, patientLine(c));
    setChildren(summary,
      h('p', { class: 'meta', text: t('c.clinician', { name: c.clinician?.name || '' }) }),
      c.specialist ? h('p', { class: 'meta', text: t('c.specialist', { name: c.specialist.name }) }) : null,
      centreLine(c, user),
      timesLine(c),
      reasonBlock(c, { clamp: false }));
    setChildren(participants, participantsList(c, user));

    const me = participantOf(c, user);
    let status;
    if (isFinal(c)) {
      if (joined) ctx.leaveCall();
      joined = false;
      stopMedia({ leave: false });
      const key = c.state === 'ended' ? 'call.ended' : c.state === 'cancelled' ? 'call.cancelled' : 'call.expired';
      status = t(key, { time: fmtTime(c.ended_at ?? c.updated_at, now()) });
    } else if (!isActive(c)) status = t('call.notOpen');
    else if (joinError) status = joinError;
    else if (joining) status = t('call.joining');
    else if (me && me.present) status = t('call.inRoom');
    else if (me) status = leftOnPurpose ? t('call.left') : t('call.notInRoom');
    else status = '';
    setText(roomStatus, status);
    roomStatus.classList.toggle('is-error', !!joinError && isActive(c));
    roomStatus.classList.toggle('is-final', isFinal(c));

    const buttons = [];
    if (isActive(c) && me && !me.present && !joining) {
      buttons.push(actionButton(t('call.rejoin'), join, { variant: 'primary', focusName: 'rejoin' }));
    }
    if (isActive(c) && me && me.present) buttons.push(actionButton(t('act.leave'), leave, { variant: 'secondary', focusName: 'leave' }));
    if (mayEnd(c)) buttons.push(actionButton(t('act.end'), end, { variant: 'danger', focusName: 'end' }));
    if (isFinal(c)) buttons.push(h('a', { href: '#/', class: 'btn btn-primary' }, t('act.back')));
    const focusName = actions.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
    setChildren(actions, buttons);
    if (focusName) actions.querySelector(`[data-focus="${focusName}"]`)?.focus();
    renderMedia();
  }

  applyI18n(el);
  update();
  setTimeout(() => title.focus(), 0);
  join();
  precallReady = true;
  renderMedia();

  return {
    el,
    update,
    relabel() { applyI18n(el); update(); panel?.render(); precall?.relabel(); },
    /** After a reconnect (welcome): the server marked us absent when the link dropped,
     *  and ended this connection's media; the call starts again after the join. */
    rejoin() {
      joined = false;
      if (call) call.stop({ leave: false, release: leftOnPurpose });
      if (!leftOnPurpose) join();
      else update();
    },
    /** media.* notices (app.js). */
    onMediaNotice(msg) {
      call?.onNotice(msg);
    },
    destroy() {
      headObserver.disconnect();
      window.removeEventListener('resize', fitMedia);
      if (call) call.stop({ leave: true });
      closePrecall();
      panel?.destroy();
      const c = consult();
      if (joined && c && isActive(c) && ctx.isOpen()) {
        ctx.request('consult.leave', { consult_id: consultId }).then((r) => store.apply(r), () => {});
      }
      ctx.leaveCall();
      joined = false;
    },
  };
}
