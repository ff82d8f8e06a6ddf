// views/guest.js — the screen of a patient or interpreter (signed in with a
// token or an invitation code): the consultations they take part in, with
// Join, unread chat messages, and the signed conclusion once there is one.

import { h, renderKeyed } from '../dom.js';
import { t, applyI18n } from '../i18n.js';
import { isActive, isFinal, recentCompare } from '../store.js';
import {
  consultHead, patientLine, timesLine, participantsList, actionButton, sig, conclusionLine, unreadBadge, caseButton,
} from './parts.js';

export function createGuestView(ctx) {
  const { store, user } = ctx;
  const list = h('ul', { class: 'cards', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-labelledby': 'guest-title' });
  const empty = h('p', { class: 'empty', 'data-i18n': 'guest.empty' });

  function card(c) {
    const label = t(c.mode === 'deferred' ? 'act.open' : 'act.join');
    return h('li', { class: ['card', 'consult', `urgency-${c.urgency}`], tabindex: '-1' },
      consultHead(c),
      patientLine(c),
      c.specialist ? h('p', { class: 'meta', text: t('c.specialist', { name: c.specialist.name }) }) : null,
      timesLine(c),
      participantsList(c, user),
      c.conclusion?.status === 'signed' || c.conclusion?.document ? conclusionLine(c) : null,
      unreadBadge(ctx.chat.unread(c.id)),
      isActive(c) ? h('div', { class: 'card-actions' },
        actionButton(label, async () => ctx.navigate(`#/call/${c.id}`), { variant: 'primary', focusName: 'join' })) : null,
      isFinal(c) && c.state === 'ended' ? h('div', { class: 'card-actions' }, caseButton(ctx, c)) : null);
  }

  function update() {
    const all = store.all().sort(recentCompare);
    renderKeyed(list, all, { key: (c) => c.id, render: card, signature: (c) => sig(c, ctx.chat.unread(c.id)) });
    empty.hidden = all.length > 0;
  }

  const el = h('div', { class: 'layout layout-guest' },
    h('section', { class: 'panel', 'aria-labelledby': 'guest-title' },
      h('h2', { id: 'guest-title', 'data-i18n': 'guest.title' }), empty, list));
  applyI18n(el);
  update();
  return { el, update, relabel() { applyI18n(el); update(); }, destroy() {} };
}
