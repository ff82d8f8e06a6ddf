// views/specialist.js — the specialist's (консультант) screen: the queue of
// requests offered to them, in PROTOCOL.md's order (urgency, then deadline),
// with patient, age, reason, the request's files (the ECG before accepting)
// and deadline visible and Accept / Decline; and "My consultations" with Join /
// End, unread chat messages, and the conclusion (write it, or read it once
// signed) of finished ones. The availability switch lives in the page header
// (app.js) so it is always visible.

import { h, setText, renderKeyed } from '../dom.js';
import { t, applyI18n } from '../i18n.js';
import { isQueued, isActive, isFinal, queueCompare, recentCompare } from '../store.js';
import { announce } from '../errors.js';
import {
  consultHead, patientLine, deadlineEl, centreLine, timesLine, reasonBlock, actionButton,
  confirmDialog, participantsList, sig, waitingEl, requestFiles, conclusionLine, unreadBadge, caseButton,
} from './parts.js';

export function createSpecialistView(ctx) {
  const { store, user } = ctx;

  const queueList = h('ul', { class: 'cards queue', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-labelledby': 'spec-queue-title' });
  const queueEmpty = h('p', { class: 'empty', 'data-i18n': 'spec.empty' });
  const notAvailable = h('p', { class: 'notice', 'data-i18n': 'spec.notAvailable' });
  const queueCount = h('span', { class: 'count' });
  const mineList = h('ul', { class: 'cards', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-labelledby': 'spec-mine-title' });
  const mineEmpty = h('p', { class: 'empty', 'data-i18n': 'spec.mineEmpty' });
  const finishedList = h('ul', { class: 'cards' });
  const finishedSummary = h('summary');
  const finished = h('details', { class: 'finished' }, finishedSummary, finishedList);

  const queuePanel = h('section', { class: 'panel panel-queue', 'aria-labelledby': 'spec-queue-title' },
    h('div', { class: 'panel-head' },
      h('h2', { id: 'spec-queue-title' }, h('span', { 'data-i18n': 'spec.queue' }), ' ', queueCount),
      h('p', { class: 'hint', 'data-i18n': 'spec.queueHint' })),
    notAvailable, queueEmpty, queueList);
  const minePanel = h('section', { class: 'panel panel-mine', 'aria-labelledby': 'spec-mine-title' },
    h('h2', { id: 'spec-mine-title', 'data-i18n': 'spec.mine' }),
    mineEmpty, mineList, finished);

  async function accept(c) {
    const patient = c.patient?.name || '';
    const reply = await ctx.act('consult.accept', { consult_id: c.id }, {
      onError(err) {
        // Gone for us either way: taken by someone else, cancelled, expired, routed away.
        if (['taken', 'not_found', 'wrong_state'].includes(err.code)) {
          store.remove(c.id, 'gone');
          ctx.sync();
        }
      },
    });
    if (!reply) return;
    announce(t('ann.accepted', { patient }));
    // The request moved to "My consultations": put the focus on its Join button.
    setTimeout(() => mineList.querySelector(`[data-key="${c.id}"] [data-focus="join"]`)?.focus(), 0);
  }

  async function decline(c) {
    const patient = c.patient?.name || '';
    const ok = await confirmDialog({
      title: t('confirm.decline.title'), body: t('confirm.decline.body', { patient }), ok: t('confirm.decline.ok'),
    });
    if (!ok) return;
    const reply = await ctx.act('consult.decline', { consult_id: c.id }, {
      onError(err) { if (err.code === 'wrong_state' || err.code === 'not_found') store.remove(c.id, 'gone'); },
    });
    if (reply) {
      store.remove(c.id, 'declined'); // normally already gone: the withdrawn notice comes first
      announce(t('ann.declined', { patient }));
    }
  }

  function queueCard(c) {
    const patient = c.patient?.name || '';
    const clinicianName = c.clinician?.name || '';
    return h('li', { class: ['card', 'consult', 'offer', `urgency-${c.urgency}`, `esc-row-${c.escalation}`], tabindex: '-1' },
      consultHead(c, { showState: false }),
      patientLine(c),
      reasonBlock(c, { clamp: false }),
      requestFiles(c),
      h('p', { class: 'meta' },
        t('c.clinician', { name: clinicianName }),
        ' · ', waitingEl(c)),
      centreLine(c, user),
      deadlineEl(c),
      h('div', { class: 'card-actions' },
        actionButton(t('act.accept'), () => accept(c), { variant: 'primary', focusName: 'accept', ariaLabel: t('act.for', { action: t('act.accept'), patient }) }),
        actionButton(t('act.decline'), () => decline(c), { variant: 'secondary', focusName: 'decline', ariaLabel: t('act.for', { action: t('act.decline'), patient }) })));
  }

  function mineCard(c) {
    const patient = c.patient?.name || '';
    const actions = [];
    if (isActive(c)) {
      const joinLabel = t(c.mode === 'deferred' ? 'act.open' : 'act.join');
      actions.push(actionButton(joinLabel, async () => ctx.navigate(`#/call/${c.id}`),
        { variant: 'primary', focusName: 'join', ariaLabel: t('act.for', { action: joinLabel, patient }) }));
      actions.push(actionButton(t('act.end'), async () => {
        const ok = await confirmDialog({ title: t('confirm.end.title'), body: t('confirm.end.body', { patient }), ok: t('confirm.end.ok') });
        if (ok) await ctx.act('consult.end', { consult_id: c.id });
      }, { variant: 'secondary', focusName: 'end', ariaLabel: t('act.for', { action: t('act.end'), patient }) }));
    }
    const mine = c.specialist?.subject === user.subject;
    if (c.state === 'ended' || (isFinal(c) && c.conclusion)) actions.push(caseButton(ctx, c, { write: mine && c.state === 'ended' }));
    return h('li', { class: ['card', 'consult', `urgency-${c.urgency}`], tabindex: '-1' },
      consultHead(c),
      patientLine(c),
      h('p', { class: 'meta', text: t('c.clinician', { name: c.clinician?.name || '' }) }),
      centreLine(c, user),
      timesLine(c),
      isActive(c) ? participantsList(c, user) : null,
      reasonBlock(c),
      requestFiles(c),
      conclusionLine(c),
      unreadBadge(ctx.chat.unread(c.id)),
      actions.length ? h('div', { class: 'card-actions' }, actions) : null);
  }

  function update() {
    const all = store.all();
    const queue = all.filter(isQueued).sort(queueCompare);
    const mine = all.filter((c) => isActive(c)).sort(recentCompare);
    const done = all.filter(isFinal).sort(recentCompare);
    renderKeyed(queueList, queue, { key: (c) => c.id, render: queueCard, signature: (c) => sig(c) });
    queueEmpty.hidden = queue.length > 0;
    setText(queueCount, queue.length ? `(${queue.length})` : '');
    notAvailable.hidden = ctx.presence() === 'available';
    const signature = (c) => sig(c, ctx.chat.unread(c.id));
    renderKeyed(mineList, mine, { key: (c) => c.id, render: mineCard, signature });
    mineEmpty.hidden = mine.length > 0;
    renderKeyed(finishedList, done, { key: (c) => c.id, render: mineCard, signature });
    setText(finishedSummary, t('list.finished', { n: done.length }));
    finished.hidden = done.length === 0;
  }

  const el = h('div', { class: 'layout layout-specialist' }, queuePanel, minePanel);
  applyI18n(el);
  update();
  return { el, update, relabel() { applyI18n(el); update(); }, destroy() {} };
}

