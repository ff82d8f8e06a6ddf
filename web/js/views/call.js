// views/call.js — the consultation room, reached by "Join" (#/call/<consult id>).
// For now it is the signalling side of a call: it joins the room
// (consult.join), shows the consult and its participants with presence, and
// offers Leave (consult.leave) and End (consult.end). Leaving this view also
// leaves the room; after a reconnect the app calls rejoin().
//
// MEDIA MILESTONE: the video call mounts into the element marked
// data-media-slot (see mediaSlot below). It receives the consult id (the media
// room id) and should be started after a successful join and stopped in
// destroy(). Nothing else in this file needs to change for it.

import { h, setChildren, setText } from '../dom.js';
import { t, applyI18n, fmtTime, specialtyLabel } from '../i18n.js';
import { isActive, isFinal, participantOf } from '../store.js';
import { errorText, announce } from '../errors.js';
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
  const mediaSlot = h('section', { class: 'media-slot', 'data-media-slot': consultId, 'aria-labelledby': 'media-title' },
    h('h3', { id: 'media-title', class: 'visually-hidden', 'data-i18n': 'call.media' }),
    h('div', { class: 'media-placeholder' },
      h('span', { class: 'media-icon', 'aria-hidden': 'true', text: '▢' }),
      h('p', { class: 'media-title', 'data-i18n': 'call.mediaPlaceholder' }),
      h('p', { class: 'hint', 'data-i18n': 'call.mediaNote' })));
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
    } catch (err) {
      joinError = errorText(err, 'join');
    } finally {
      joining = false;
      update();
    }
  }

  async function leave() {
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
    if (ok && await ctx.act('consult.end', { consult_id: consultId })) {
      joined = false;
      ctx.leaveCall();
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
  }

  applyI18n(el);
  update();
  setTimeout(() => title.focus(), 0);
  join();

  return {
    el,
    update,
    relabel() { applyI18n(el); update(); },
    /** After a reconnect (welcome): the server marked us absent when the link dropped. */
    rejoin() {
      joined = false;
      if (!leftOnPurpose) join();
      else update();
    },
    destroy() {
      const c = consult();
      if (joined && c && isActive(c) && ctx.isOpen()) {
        ctx.request('consult.leave', { consult_id: consultId }).then((r) => store.apply(r), () => {});
      }
      ctx.leaveCall();
      joined = false;
    },
  };
}
