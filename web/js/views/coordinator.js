// views/coordinator.js — the coordinator's screen: escalation alerts
// (dismissible), the centre's queue (overdue rows highlighted, warning rows
// marked, in queue order) with Assign / Route / Cancel, the consultations under
// way with who is present and the call's quality per participant (loss, RTT,
// bitrate, a good/fair/poor badge, from consult.quality), files, the
// conclusion's state and the case view, and the centre's specialists with
// their presence. Consults with a signed conclusion show where its document
// is on the way to the patient's electronic record (delivered / pending /
// failed with the reason): coordinators chase the failed ones, so a failure
// is also announced.

import { h, setText, setChildren, renderKeyed } from '../dom.js';
import { t, applyI18n, specialtyLabel, fmtTime, getLang } from '../i18n.js';
import { isQueued, isActive, isFinal, queueCompare, recentCompare } from '../store.js';
import { announce, errorText } from '../errors.js';
import {
  consultHead, patientLine, deadlineEl, centreLine, timesLine, reasonBlock, actionButton,
  confirmDialog, formDialog, participantsList, presenceBadge, sig, now, waitingEl,
  specialtiesText, requestFiles, conclusionLine, caseButton,
} from './parts.js';
import { qualityLevel, qualityFigures } from './media.js';
import { deliveryBadge, documentOf, deliveryState } from './delivery.js';
import { recordingBadge } from '../recording.js';

const QUALITY_ICON = { good: '●', fair: '◆', poor: '▲', unknown: '○' };

const PRESENCE_ORDER = ['available', 'busy', 'away', 'offline'];
const SLUG_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function createCoordinatorView(ctx) {
  const { store, user } = ctx;

  // ---- skeleton -------------------------------------------------------------
  const alertList = h('ul', { class: 'alert-list', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-labelledby': 'coord-alerts-title' });
  const dismissAll = h('button', { type: 'button', class: 'btn btn-quiet btn-small', 'data-i18n': 'act.dismissAll', on: { click: () => ctx.dismissAlert(null) } });
  const alertsPanel = h('section', { class: 'panel panel-alerts', 'aria-labelledby': 'coord-alerts-title' },
    h('div', { class: 'panel-head panel-head-row' },
      h('h2', { id: 'coord-alerts-title', 'data-i18n': 'coord.alerts' }),
      dismissAll),
    alertList);

  const queueList = h('ul', { class: 'cards queue', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-labelledby': 'coord-queue-title' });
  const queueEmpty = h('p', { class: 'empty', 'data-i18n': 'coord.queueEmpty' });
  const queueCount = h('span', { class: 'count' });
  const queuePanel = h('section', { class: 'panel panel-queue', 'aria-labelledby': 'coord-queue-title' },
    h('div', { class: 'panel-head' },
      h('h2', { id: 'coord-queue-title' }, h('span', { 'data-i18n': 'coord.queue' }), ' ', queueCount),
      h('p', { class: 'hint', 'data-i18n': 'spec.queueHint' })),
    queueEmpty, queueList);

  const liveList = h('ul', { class: 'cards', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-labelledby': 'coord-live-title' });
  const liveEmpty = h('p', { class: 'empty', 'data-i18n': 'coord.liveEmpty' });
  const finishedList = h('ul', { class: 'cards' });
  const finishedSummary = h('summary');
  const finished = h('details', { class: 'finished' }, finishedSummary, finishedList);
  const livePanel = h('section', { class: 'panel panel-live', 'aria-labelledby': 'coord-live-title' },
    h('h2', { id: 'coord-live-title', 'data-i18n': 'coord.live' }),
    liveEmpty, liveList, finished);

  const specList = h('ul', { class: 'spec-list', 'aria-live': 'polite', 'aria-labelledby': 'coord-spec-title' });
  const specEmpty = h('p', { class: 'empty', 'data-i18n': 'coord.specEmpty' });
  const specCount = h('p', { class: 'hint' });
  const specPanel = h('section', { class: 'panel panel-specialists', 'aria-labelledby': 'coord-spec-title' },
    h('div', { class: 'panel-head' },
      h('h2', { id: 'coord-spec-title', 'data-i18n': 'coord.specialists' }),
      specCount),
    specEmpty, specList);

  // ---- actions ------------------------------------------------------------------
  function assign(c) {
    const specialists = ctx.specialists()
      .filter((s) => (s.specialties || []).includes(c.specialty))
      .sort((a, b) => PRESENCE_ORDER.indexOf(a.status) - PRESENCE_ORDER.indexOf(b.status) || a.name.localeCompare(b.name));
    const patient = c.patient?.name || '';
    let select = null;
    formDialog({
      title: `${t('assign.title')}: ${patient}`,
      submitLabel: t('act.assign'),
      build(body) {
        if (!specialists.length) {
          body.append(h('p', { class: 'notice', text: t('assign.none') }));
          return false;
        }
        select = h('select', { id: 'assign-specialist', 'aria-describedby': 'dialog-error' },
          specialists.map((s) => h('option', { value: s.subject }, t('assign.option', { name: s.name, status: t(`presence.${s.status}`) }))));
        body.append(h('div', { class: 'field' },
          h('label', { for: 'assign-specialist', text: t('assign.label', { specialty: specialtyLabel(c.specialty) }) }),
          select));
        return true;
      },
      async submit(api) {
        try {
          const reply = await ctx.request('consult.assign', { consult_id: c.id, specialist: select.value });
          store.apply(reply);
          const name = specialists.find((s) => s.subject === select.value)?.name || select.value;
          announce(t('ann.assigned', { specialist: name, patient }));
          return true;
        } catch (err) {
          api.showError(errorText(err, 'assign'));
          return false;
        }
      },
    });
  }

  function route(c) {
    const patient = c.patient?.name || '';
    let input = null;
    formDialog({
      title: `${t('route.title')}: ${patient}`,
      submitLabel: t('act.route'),
      build(body) {
        // The centres the configuration allows, when the gateway says; else free text.
        const allowed = ctx.routes().filter((r) => r !== c.routed_to);
        input = allowed.length
          ? h('select', { id: 'route-tenant', 'aria-describedby': 'route-hint dialog-error' },
            allowed.map((r) => h('option', { value: r }, r)))
          : h('input', {
            id: 'route-tenant', type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none',
            'aria-describedby': 'route-hint dialog-error', value: c.routed_to || '',
          });
        body.append(h('div', { class: 'field' },
          h('label', { for: 'route-tenant', text: t('route.label') }),
          h('p', { id: 'route-hint', class: 'hint', text: t('route.hint') }),
          input));
        return true;
      },
      async submit(api) {
        const tenant = input.value.trim().toLowerCase();
        const problem = !SLUG_RE.test(tenant) ? t('v.slug') : tenant === c.tenant ? t('v.sameCentre') : null;
        if (problem) {
          input.setAttribute('aria-invalid', 'true');
          api.showError(problem);
          input.focus();
          return false;
        }
        input.removeAttribute('aria-invalid');
        try {
          const reply = await ctx.request('consult.route', { consult_id: c.id, tenant });
          store.apply(reply);
          announce(t('ann.routed', { patient, tenant }));
          return true;
        } catch (err) {
          api.showError(errorText(err, 'route'));
          return false;
        }
      },
    });
  }

  async function cancel(c) {
    const patient = c.patient?.name || '';
    const ok = await confirmDialog({
      title: t('confirm.cancel.title'),
      body: t('confirm.cancel.body', { patient, specialty: specialtyLabel(c.specialty) }),
      ok: t('confirm.cancel.ok'),
    });
    if (ok && await ctx.act('consult.cancel', { consult_id: c.id })) announce(t('ann.cancelled', { patient }));
  }

  async function end(c) {
    const patient = c.patient?.name || '';
    const ok = await confirmDialog({ title: t('confirm.end.title'), body: t('confirm.end.body', { patient }), ok: t('confirm.end.ok') });
    if (ok) await ctx.act('consult.end', { consult_id: c.id });
  }

  // ---- rows ---------------------------------------------------------------------------
  function queueCard(c) {
    const patient = c.patient?.name || '';
    const ours = c.tenant === user.tenant;
    const btn = (key, fn, name, variant = 'secondary') => actionButton(t(key), fn, { variant, focusName: name, ariaLabel: t('act.for', { action: t(key), patient }) });
    return h('li', { class: ['card', 'consult', `urgency-${c.urgency}`, `esc-row-${c.escalation}`], tabindex: '-1' },
      consultHead(c),
      patientLine(c),
      h('p', { class: 'meta' }, t('c.clinician', { name: c.clinician?.name || '' }), ' · ', waitingEl(c)),
      centreLine(c, user),
      deadlineEl(c),
      reasonBlock(c),
      requestFiles(c),
      h('div', { class: 'card-actions' },
        btn('act.assign', () => assign(c), 'assign', 'primary'),
        ours ? btn('act.route', () => route(c), 'route') : null,
        ours ? btn('act.cancel', () => cancel(c), 'cancel') : null));
  }

  function liveCard(c) {
    const patient = c.patient?.name || '';
    return h('li', { class: ['card', 'consult', `urgency-${c.urgency}`], tabindex: '-1' },
      consultHead(c, { extra: [recordingBadge(c)] }),
      patientLine(c),
      h('p', { class: 'meta' },
        t('c.clinician', { name: c.clinician?.name || '' }),
        c.specialist ? ` · ${t('c.specialist', { name: c.specialist.name })}` : ''),
      centreLine(c, user),
      timesLine(c),
      isActive(c) ? participantsList(c, user) : null,
      // Updated in place every few seconds (renderQuality): not spoken by the list's live region.
      isActive(c) ? h('div', { class: 'call-quality', 'aria-live': 'off', hidden: true, dataset: { qualityFor: c.id } }) : null,
      requestFiles(c),
      conclusionLine(c),
      deliveryBadge(c),
      h('div', { class: 'card-actions' },
        isActive(c) ? actionButton(t('act.end'), () => end(c), { focusName: 'end', ariaLabel: t('act.for', { action: t('act.end'), patient }) }) : null,
        caseButton(ctx, c)));
  }

  /** The call quality of a consult under way, per participant (consult.quality); hidden without a call. */
  function renderQuality(box) {
    const c = store.get(box.dataset.qualityFor);
    const q = c && ctx.callQuality(c.id);
    const key = q ? `${getLang()}|${JSON.stringify(q.participants)}` : '';
    if (box.dataset.sig === key) return;
    box.dataset.sig = key;
    box.hidden = !q;
    if (!q) { setChildren(box); return; }
    const roleOf = (subject) => (c.participants || []).find((p) => p.subject === subject)?.role;
    setChildren(box,
      h('p', { class: 'cq-title', text: t('coord.quality') }),
      h('ul', { class: 'cq-list' }, q.participants.map((p) => {
        const level = qualityLevel(p);
        const role = roleOf(p.user);
        const f = qualityFigures(p);
        return h('li', { class: 'cq-row', dataset: { user: p.user, level } },
          h('span', { class: 'cq-who' }, h('span', { class: 'cq-name', text: p.name || p.user }),
            role ? h('span', { class: 'cq-role', text: t(`role.${role}`) }) : null),
          h('span', { class: ['badge', 'q-badge', `q-${level}`], dataset: { level } },
            h('span', { class: 'badge-icon', 'aria-hidden': 'true', text: QUALITY_ICON[level] }), t(`coord.q.${level}`)),
          h('span', { class: 'cq-figures', text: t('coord.q.figures', f) }));
      })));
  }

  function specRow(s) {
    return h('li', { class: ['spec', `presence-row-${s.status}`], tabindex: '-1' },
      h('span', { class: 'spec-name', text: s.name || s.subject }),
      presenceBadge(s.status),
      h('span', { class: 'spec-specialties', text: specialtiesText(s.specialties) }));
  }

  function alertRow(a) {
    const c = a.consult;
    const patient = c.patient?.name || '';
    const text = t(`coord.alert.${a.level}`, { patient, urgency: t(`urgency.${c.urgency}`).toLowerCase(), specialty: specialtyLabel(c.specialty).toLowerCase() });
    return h('li', { class: ['alert-row', `alert-${a.level}`], tabindex: '-1' },
      h('span', { class: 'alert-icon', 'aria-hidden': 'true', text: a.level === 'overdue' ? '⚠' : '!' }),
      h('div', { class: 'alert-body' },
        h('p', { class: 'alert-text', text }),
        h('p', { class: 'meta', text: t('coord.alert.at', { time: fmtTime(a.at, now()) }) })),
      h('button', {
        type: 'button', class: 'btn btn-quiet btn-small', 'data-focus': 'dismiss',
        'aria-label': `${t('act.dismiss')}: ${text}`, on: { click: () => ctx.dismissAlert(a.key) },
      }, t('act.dismiss')));
  }

  /** A document that was seen on its way and now failed is announced (not those failed before the page opened). */
  const deliverySeen = new Map(); // document id → state
  function announceDeliveries(all) {
    for (const c of all) {
      const d = documentOf(c);
      if (!d) continue;
      const state = deliveryState(d);
      const before = deliverySeen.get(d.id);
      deliverySeen.set(d.id, state);
      if (state === 'failed' && before && before !== 'failed') {
        announce(t('coord.ann.deliveryFailed', { patient: c.patient?.name || '', reason: d.delivery?.error || '' }));
      }
    }
  }

  function update() {
    const all = store.all();
    announceDeliveries(all);
    const queue = all.filter(isQueued).sort(queueCompare);
    const live = all.filter(isActive).sort(recentCompare);
    const done = all.filter(isFinal).sort(recentCompare);
    renderKeyed(queueList, queue, { key: (c) => c.id, render: queueCard, signature: (c) => sig(c, ctx.specialists().length) });
    queueEmpty.hidden = queue.length > 0;
    setText(queueCount, queue.length ? `(${queue.length})` : '');
    renderKeyed(liveList, live, { key: (c) => c.id, render: liveCard, signature: (c) => sig(c) });
    for (const box of liveList.querySelectorAll('[data-quality-for]')) renderQuality(box);
    liveEmpty.hidden = live.length > 0;
    renderKeyed(finishedList, done, { key: (c) => c.id, render: liveCard, signature: (c) => sig(c) });
    setText(finishedSummary, t('list.finished', { n: done.length }));
    finished.hidden = done.length === 0;

    const specs = ctx.specialists().slice().sort((a, b) =>
      PRESENCE_ORDER.indexOf(a.status) - PRESENCE_ORDER.indexOf(b.status) || (a.name || '').localeCompare(b.name || ''));
    renderKeyed(specList, specs, { key: (s) => s.subject, render: specRow, signature: (s) => `${getLang()}|${JSON.stringify(s)}` });
    specEmpty.hidden = specs.length > 0;
    setText(specCount, specs.length ? t('coord.counts', { available: specs.filter((s) => s.status === 'available').length, total: specs.length }) : '');

    const alerts = ctx.alerts();
    renderKeyed(alertList, alerts, { key: (a) => a.key, render: alertRow, signature: (a) => `${getLang()}|${a.key}|${a.at}` });
    alertsPanel.hidden = alerts.length === 0;
    if (!alerts.length && alertsPanel.contains(document.activeElement)) queuePanel.focus?.();
  }

  queuePanel.tabIndex = -1;
  const el = h('div', { class: 'layout layout-coordinator' },
    h('div', { class: 'col-main' }, alertsPanel, queuePanel, livePanel),
    h('div', { class: 'col-side' }, specPanel));
  applyI18n(el);
  update();
  return { el, update, relabel() { applyI18n(el); update(); }, destroy() {} };
}

