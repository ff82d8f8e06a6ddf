// views/delivery.js — where a signed conclusion's document is on its way to
// the patient's electronic record (RECORDS.md "The outbox"), in words:
// delivered (when), pending (attempts so far, the next try, the last error),
// failed (the record system's reason), or not sent at all. Two forms: the
// line under the signed document in the conclusion panel (a polite live
// region, updated in place on every consult.updated), and a badge on the
// coordinator's consult cards (the reason visible beside it and in its
// tooltip). Always text plus a shape, never colour alone.

import { h, setChildren } from '../dom.js';
import { t, tn, fmtTime, getLang } from '../i18n.js';
import { now } from './parts.js';

const ICON = { delivered: '✓', pending: '◷', failed: '⚠', held: '–' };
const STATES = new Set(['delivered', 'pending', 'failed']);

/** The consult's current (last signed) document from its summary, or null. */
export const documentOf = (c) => c?.conclusion?.document || null;

/** delivered | pending | failed | held (anything else the server may say: not sent). */
export function deliveryState(docInfo) {
  const s = docInfo?.delivery?.state;
  return STATES.has(s) ? s : 'held';
}

/**
 * The words of a document's delivery: {state, text, detail} — text says where
 * it is, detail (or null) the last error of a pending one. null without a document.
 */
export function deliveryWords(docInfo) {
  if (!docInfo) return null;
  const d = docInfo.delivery || {};
  const state = deliveryState(docInfo);
  const n = now();
  const error = typeof d.error === 'string' && d.error.trim() ? d.error.trim() : '';
  if (state === 'delivered') {
    return { state, text: d.delivered_at ? t('doc.delivered', { time: fmtTime(d.delivered_at, n) }) : t('doc.deliveredNoTime'), detail: null };
  }
  if (state === 'failed') {
    return { state, text: error ? t('doc.failed', { reason: error }) : t('doc.failedNoReason'), detail: t('doc.failed.hint') };
  }
  if (state === 'pending') {
    const attempts = Number(d.attempts) || 0;
    let text = attempts > 0 ? tn('doc.pending.attempts', attempts) : t('doc.pending');
    if (d.next_attempt_at) text += ` ${t('doc.pending.next', { time: fmtTime(d.next_attempt_at, n) })}`;
    return { state, text, detail: error ? t('doc.lastError', { error }) : null };
  }
  return { state, text: t('doc.held'), detail: null };
}

/**
 * The delivery line under a signed document: build once, then update(docInfo)
 * whenever the consult changes; it is rebuilt only when its words change (so
 * the live region speaks once per change). Hidden without a document.
 */
export function createDeliveryLine() {
  const el = h('div', { class: 'doc-delivery', role: 'status', 'aria-atomic': 'true', hidden: true });
  return {
    el,
    update(docInfo) {
      const w = deliveryWords(docInfo);
      const key = w ? `${getLang()}|${w.state}|${w.text}|${w.detail || ''}` : '';
      if (el.dataset.sig === key) return;
      el.dataset.sig = key;
      el.hidden = !w;
      if (!w) { setChildren(el); delete el.dataset.state; return; }
      el.dataset.state = w.state;
      setChildren(el,
        h('p', { class: 'delivery-text' },
          h('span', { class: 'delivery-icon', 'aria-hidden': 'true', text: ICON[w.state] }), ' ',
          h('span', { text: w.text })),
        w.detail ? h('p', { class: 'delivery-detail', text: w.detail }) : null);
    },
  };
}

/**
 * A coordinator's card: the document's delivery as a badge, the failure's
 * reason beside it (and the full words as its tooltip); null when nothing is signed.
 */
export function deliveryBadge(c) {
  const docInfo = documentOf(c);
  const w = deliveryWords(docInfo);
  if (!w) return null;
  const attempts = Number(docInfo.delivery?.attempts) || 0;
  const label = w.state === 'pending' && attempts > 0 ? tn('doc.badge.pendingAttempts', attempts) : t(`doc.badge.${w.state}`);
  const tip = [w.text, w.state === 'failed' ? null : w.detail].filter(Boolean).join(' ');
  const reason = w.state === 'failed' ? (docInfo.delivery?.error || '').trim() : '';
  return h('p', { class: ['meta', 'delivery-card', `delivery-card-${w.state}`], dataset: { delivery: w.state } },
    h('span', { class: ['badge', 'delivery-badge', `delivery-${w.state}`], title: tip, dataset: { state: w.state } },
      h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: ICON[w.state] }), label),
    reason ? h('span', { class: 'delivery-reason', text: reason }) : null);
}
