// app.js — start-up and wiring: credentials → signalling client → store →
// the view for the user's role (or the call view for #/call/<id>), the page
// header (centre, user, role, availability switch, connection, language,
// sign out), the reconnecting banner, announcements and the 1-second ticker.
// media.* notices go to the room view's call (views/call.js → call.js);
// chat.message notices to the chat store (chat-store.js), consult.quality to
// the coordinator's list; the Authorization header of attachment requests
// comes from the session's credentials (attachments.js). Recording (the bar,
// the consent dialog, the recordings, card badges) is recording.js, told of
// every mount and render.

import { h, setChildren, setText } from './dom.js';
import { t, getLang, setLang, onLangChange, applyI18n, fmtTime, specialtyLabel } from './i18n.js';
import { SignalingClient } from './signaling.js';
import { ConsultStore, isQueued, PRESENCES } from './store.js';
import { takeCredentials, saveCredentials, clearCredentials } from './auth.js';
import { ChatStore } from './chat-store.js';
import { setAuthorization, policyOf, forgetAttachments } from './attachments.js';
import {
  initErrorRegion, initAnnouncer, showError, reportError, clearErrors, announce, closeText,
} from './errors.js';
import { setClock, tickCountdowns, presenceBadge, specialtiesText } from './views/parts.js';
import { createSigninView } from './views/signin.js';
import { createClinicianView } from './views/clinician.js';
import { createSpecialistView } from './views/specialist.js';
import { createCoordinatorView } from './views/coordinator.js';
import { createCallView } from './views/call.js';
import { createGuestView } from './views/guest.js';
import { createRecordingUi } from './recording.js';

const $ = (id) => document.getElementById(id);
const CALL_ROUTE = /^#\/call\/([0-9a-f-]{36})$/;
const SESSION_WARN_MS = 10 * 60000;
const PRESENCE_KEY = 'consilium.presence';

const store = new ConsultStore();
const chat = new ChatStore();
let client = null;
let credentials = null;
let session = null; // {user, presence, specialists: Map, alerts: [], dismissed: Set}
let view = null;
let viewKind = '';
let syncTimer = null;
let lastSync = 0;

// ---- the context views get ----------------------------------------------------

const ctx = {
  store,
  chat,
  get user() { return session?.user; },
  presence: () => session?.presence,
  specialists: () => (session ? [...session.specialists.values()] : []),
  /** The centres this coordinator's centre may route to (welcome.policy.routes). */
  routes: () => (session?.policy?.routes ? [...session.policy.routes] : []),
  alerts: () => (session ? session.alerts : []),
  /** welcome.media (ICE servers, room size), or null from a gateway without media. */
  mediaConfig: () => session?.media ?? null,
  /** welcome.attachments ({types, maxBytes}), or null from a gateway that takes no files. */
  attachmentPolicy: () => session?.attachments ?? null,
  /** The last consult.quality of a consult (coordinators): {participants, at} or undefined. */
  callQuality: (id) => session?.quality?.get(id),
  /** A sync, for fresh TURN credentials; resolves with the new welcome.media. */
  async freshMediaConfig() {
    const state = await ctx.request('sync', {});
    applyState(state);
    return session?.media ?? null;
  },
  isOpen: () => !!client && client.isOpen,
  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  /** Raw request: resolves with the reply, rejects with a SignalingError. */
  request(type, fields) {
    if (!client) return Promise.reject(Object.assign(new Error('offline'), { code: 'offline' }));
    return client.request(type, fields);
  },
  /** A request whose failure is shown in the error banner; resolves with the reply or null. */
  async act(type, fields, { onError } = {}) {
    try {
      const reply = await ctx.request(type, fields);
      store.apply(reply);
      return reply;
    } catch (err) {
      reportError(err);
      if (onError) onError(err);
      if (err.code === 'wrong_state') ctx.sync();
      return null;
    }
  },
  /** Fetches the whole state again (debounced). */
  sync() {
    clearTimeout(syncTimer);
    syncTimer = setTimeout(doSync, 300);
  },
  /** The call view says when its user enters and leaves the room (auto "busy" for specialists). */
  enterCall() {
    if (session?.user.role === 'specialist' && session.presence === 'available') {
      autoBusy = true;
      setPresence('busy', { auto: true });
    }
  },
  leaveCall() {
    if (autoBusy && session?.presence === 'busy') setPresence('available', { auto: true });
    autoBusy = false;
  },
  dismissAlert(key) {
    if (!session) return;
    for (const a of session.alerts) if (key === null || a.key === key) session.dismissed.add(a.key);
    session.alerts = session.alerts.filter((a) => !session.dismissed.has(a.key));
    renderSoon();
  },
};

const recording = createRecordingUi(ctx);

async function doSync() {
  if (!ctx.isOpen()) return;
  lastSync = Date.now();
  try {
    const state = await client.request('sync', {});
    applyState(state);
  } catch { /* a failed sync is retried by the next trigger or reconnect */ }
}

// ---- start -------------------------------------------------------------------------

function boot() {
  initErrorRegion($('error-region'));
  initAnnouncer($('sr-status'));
  applyI18n(document);
  renderLangSwitch();
  for (const b of document.querySelectorAll('.lang-btn')) b.addEventListener('click', () => setLang(b.dataset.lang));
  $('skip-link').addEventListener('click', (e) => { e.preventDefault(); $('main').focus(); });
  $('signout').addEventListener('click', signOut);
  setAuthorization(() => {
    if (credentials?.token) return `Bearer ${credentials.token}`;
    if (credentials?.invite) return `Invite ${credentials.invite}`;
    return null;
  });
  chat.addEventListener('change', () => renderSoon());
  onLangChange(() => {
    renderLangSwitch();
    renderHeader();
    renderConnBanner();
    renderSessionBanner();
    view?.relabel();
    recording.update();
    document.title = titleText();
  });
  window.addEventListener('hashchange', () => {
    // A sign-in link opened in this tab while it is already open: sign in with it.
    if (/^#(.*&)?(token|invite)=/.test(location.hash)) {
      const creds = takeCredentials();
      if (client) stopSession();
      clearErrors();
      if (creds && !creds.bad) startSession(creds);
      else showSignin({ key: 'signin.bad', kind: 'error' });
      return;
    }
    route();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && ctx.isOpen() && Date.now() - lastSync > 30000) ctx.sync();
  });
  setInterval(tick, 1000);
  // Sticky side panels and scroll-padding need the header's real height (it wraps on narrow screens).
  const header = document.querySelector('.app-header');
  new ResizeObserver(() => {
    document.documentElement.style.setProperty('--header-h', `${header.offsetHeight}px`);
  }).observe(header);

  const creds = takeCredentials();
  if (!creds) showSignin(null);
  else if (creds.bad) showSignin({ key: 'signin.bad', kind: 'error' });
  else startSession(creds);
}

function startSession(creds) {
  credentials = creds;
  saveCredentials(creds);
  session = null;
  store.clear();
  clearErrors();
  mount('loading', { el: h('p', { class: 'loading', 'data-i18n': 'app.connecting' }), update() {}, relabel() { applyI18n($('main')); }, destroy() {} });
  applyI18n($('main'));
  client = new SignalingClient(creds);
  setClock(() => client.serverNow());
  client.addEventListener('status', onStatus);
  client.addEventListener('welcome', (e) => onWelcome(e.detail.msg));
  client.addEventListener('notice', (e) => onNotice(e.detail.msg));
  client.addEventListener('autherror', (e) => onAuthError(e.detail));
  client.addEventListener('error', (e) => {
    // "expired"/"unauthenticated" without a request: the close that follows sends us to sign-in.
    if (e.detail.code !== 'expired' && e.detail.code !== 'unauthenticated') reportError(e.detail);
  });
  client.start();
}

function stopSession() {
  if (client) client.stop();
  client = null;
  session = null;
  credentials = null;
  store.clear();
  chat.clear();
  forgetAttachments();
  recording.reset();
  clearCredentials();
  try { sessionStorage.removeItem(PRESENCE_KEY); } catch { /* ignore */ }
  autoBusy = false;
  clearTimeout(syncTimer);
  renderHeader();
  renderConnBanner();
  renderSessionBanner();
}

function signOut() {
  stopSession();
  clearErrors();
  showSignin({ key: 'signin.signedOut', kind: 'info' });
}

function onAuthError({ code, closeCode }) {
  const invite = !!credentials?.invite;
  stopSession();
  clearErrors(); // the sign-in screen says it; no second copy in the banner
  let key = 'auth.unauthenticated';
  if (invite) key = 'auth.inviteRefused';
  else if (closeCode === 4003) key = 'auth.sessionExpired';
  else if (code === 'expired') key = 'auth.expired';
  showSignin({ key, kind: 'error' });
}

function showSignin(message) {
  if (location.hash) history.replaceState(history.state, '', location.pathname + location.search);
  const v = createSigninView({ message, onCredentials: startSession });
  mount('signin', v);
  renderHeader();
  v.focus();
}

// ---- server messages --------------------------------------------------------------

function onWelcome(msg) {
  const first = !session;
  const previousUser = session?.user;
  session = {
    user: msg.user,
    presence: msg.presence,
    confirmedPresence: msg.presence,
    specialists: new Map((msg.specialists || []).map((s) => [s.subject, s])),
    policy: msg.policy || null,
    media: msg.media || null,
    attachments: policyOf(msg.attachments),
    quality: new Map(), // consult id → {participants, at}: consult.quality, for coordinators
    alerts: session?.alerts || [],
    dismissed: session?.dismissed || new Set(),
  };
  lastSync = Date.now();
  chat.setUser(msg.user);
  store.apply(msg);
  rebuildAlerts();
  if (!first) announce(t('status.reconnected'));
  const wanted = rememberedPresence();
  if (msg.user.role === 'specialist' && PRESENCES.includes(wanted) && wanted !== msg.presence && msg.presence !== 'offline') {
    setPresence(wanted, { quiet: true });
  }
  renderHeader();
  renderSessionBanner();
  if (first || previousUser?.subject !== msg.user.subject || previousUser?.role !== msg.user.role) route();
  else {
    renderSoon();
    if (viewKind === 'call') view.rejoin();
  }
}

function applyState(msg) {
  if (!session || msg.type !== 'state') return;
  session.user = msg.user || session.user;
  if (!document.querySelector('.presence-switch[aria-busy]')) { // not while a presence.set is on its way
    session.presence = msg.presence;
    session.confirmedPresence = msg.presence;
  }
  if (msg.specialists) session.specialists = new Map(msg.specialists.map((s) => [s.subject, s]));
  if (msg.media !== undefined) session.media = msg.media || null;
  if (msg.attachments !== undefined) session.attachments = policyOf(msg.attachments);
  store.apply(msg);
  rebuildAlerts();
  renderHeader();
  renderSoon();
}

function patientOf(c) {
  return c?.patient?.name || '';
}

/** A queued request that just became "warning" or "overdue" is said politely (coordinators
 *  hear it from their escalation notices instead). */
function announceEscalation(before, c) {
  if (!before || !c || !isQueued(c) || c.escalation === 'none' || before.escalation === c.escalation) return;
  if (session.user.role === 'coordinator') return;
  announce(`${patientOf(c)}: ${t(`esc.${c.escalation}`)}.`);
}

function onNotice(msg) {
  if (!session) return;
  const me = session.user;
  switch (msg.type) {
    case 'consult.offered': {
      const known = store.get(msg.consult?.id);
      store.apply(msg);
      if (!known && me.role === 'specialist') {
        const c = msg.consult;
        announce(t('ann.offered', { urgency: t(`urgency.${c.urgency}`), specialty: specialtyLabel(c.specialty), patient: patientOf(c) }));
      }
      announceEscalation(known, msg.consult);
      break;
    }
    case 'consult.updated': {
      const before = store.get(msg.consult?.id);
      store.apply(msg);
      const c = msg.consult;
      if (before && before.state !== c.state && me.role !== 'coordinator') {
        announce(t('ann.state', { patient: patientOf(c), state: t(`state.${c.state}`) }));
      }
      announceEscalation(before, c);
      break;
    }
    case 'consult.withdrawn': {
      const before = store.get(msg.consult_id);
      store.apply(msg);
      if (before && msg.reason !== 'declined') {
        announce(t(msg.reason === 'taken' ? 'ann.taken' : 'ann.gone', { patient: patientOf(before) }));
      }
      break;
    }
    case 'consult.escalation': {
      store.apply(msg);
      if (me.role === 'coordinator') {
        addAlert(msg.level, msg.consult, client.serverNow());
        const c = msg.consult;
        announce(t(`coord.alert.${msg.level}`, { patient: patientOf(c), urgency: t(`urgency.${c.urgency}`), specialty: specialtyLabel(c.specialty) }));
      }
      break;
    }
    case 'presence': {
      const s = session.specialists.get(msg.subject);
      if (s) session.specialists.set(msg.subject, { ...s, name: msg.name || s.name, status: msg.status });
      else {
        // First sign-in of a specialist: their specialties come with the next state.
        session.specialists.set(msg.subject, { subject: msg.subject, name: msg.name, status: msg.status, specialties: [] });
        ctx.sync();
      }
      renderSoon();
      break;
    }
    case 'chat.message': {
      const m = msg.message;
      if (!m || (msg.consult_id && m.consult_id !== msg.consult_id)) break;
      const isNew = chat.upsert(m);
      const inRoom = viewKind === 'call' && view.consultId === m.consult_id;
      // Coordinators get every chat of their centre: announce only one's own consults.
      const me = session.user;
      const takesPart = (store.get(m.consult_id)?.participants || [])
        .some((p) => p.subject === me.subject && p.tenant === me.tenant);
      if (isNew && !inRoom && takesPart && !chat.mine(m)) {
        announce(t('ann.chat', { name: m.from?.name || '', patient: patientOf(store.get(m.consult_id)) }));
      }
      break;
    }
    case 'consult.quality': {
      if (!msg.consult_id) break;
      const list = Array.isArray(msg.participants) ? msg.participants.filter((p) => p && p.user) : [];
      if (list.length) session.quality.set(msg.consult_id, { participants: list, at: Date.now() });
      else session.quality.delete(msg.consult_id);
      renderSoon();
      break;
    }
    default:
      // media.* notices belong to the call in the room view; other unknown ones are ignored (newer servers).
      if (msg.type.startsWith('media.') && viewKind === 'call') view.onMediaNotice?.(msg);
      break;
  }
}

// ---- coordinator alerts -------------------------------------------------------------

/** One alert per consult: an overdue one replaces its warning. Dismissed ones stay away
 *  until the consult escalates further. */
function addAlert(level, consult, at) {
  if (!session || level === 'none' || !consult) return;
  const key = `${consult.id}:${level}`;
  if (session.dismissed.has(key) || session.alerts.some((a) => a.key === key)) return;
  session.alerts = session.alerts.filter((a) => a.consult.id !== consult.id);
  session.alerts.unshift({ key, level, consult, at });
}

/** Alerts follow the queue: queued escalated consults have one; others lose theirs. */
function rebuildAlerts() {
  if (!session || session.user.role !== 'coordinator') return;
  for (const c of store.all()) {
    if (isQueued(c) && c.escalation !== 'none') addAlert(c.escalation, c, c.updated_at);
  }
  session.alerts = session.alerts
    .filter((a) => { const c = store.get(a.consult.id); return c && isQueued(c); })
    .map((a) => ({ ...a, consult: store.get(a.consult.id) }));
}

store.addEventListener('change', () => {
  if (session?.user.role === 'coordinator') rebuildAlerts();
  renderSoon();
});

// ---- routing and views ----------------------------------------------------------------

function route() {
  if (!session) return;
  const m = CALL_ROUTE.exec(location.hash);
  if (m) {
    if (viewKind === 'call' && view.consultId === m[1]) return;
    const v = createCallView(ctx, m[1]);
    v.consultId = m[1];
    mount('call', v);
    return;
  }
  if (location.hash && location.hash !== '#/' && !location.hash.startsWith('#/')) return; // e.g. the skip link
  const role = session.user.role;
  const kind = `role-${role}`;
  if (viewKind === kind) { view.update(); return; }
  const create = {
    clinician: createClinicianView,
    specialist: createSpecialistView,
    coordinator: createCoordinatorView,
  }[role] || createGuestView;
  mount(kind, create(ctx));
}

function mount(kind, v) {
  if (view) view.destroy();
  view = v;
  viewKind = kind;
  setChildren($('main'), v.el);
  recording.mount(kind, v);
  window.scrollTo(0, 0);
  document.title = titleText();
}

let renderQueued = false;
/** Coalesces many store changes into one render; setTimeout keeps background tabs current. */
function renderSoon() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(() => {
    renderQueued = false;
    if (view && session) {
      view.update();
      recording.update();
    }
    renderHeader();
    document.title = titleText();
  }, 0);
}

function titleText() {
  if (session?.user.role === 'specialist') {
    const n = store.all().filter(isQueued).length;
    return n ? `(${n}) Consilium` : 'Consilium';
  }
  return 'Consilium';
}

// ---- header ------------------------------------------------------------------------------

function renderLangSwitch() {
  for (const b of document.querySelectorAll('.lang-btn')) b.setAttribute('aria-pressed', String(b.dataset.lang === getLang()));
}

function renderHeader() {
  const u = session?.user;
  $('hdr-centre').hidden = !u;
  $('hdr-user').hidden = !u;
  $('signout').hidden = !credentials;
  $('hdr-conn').hidden = !credentials;
  if (u) {
    setText($('hdr-centre-name'), u.tenant);
    setText($('hdr-user-name'), u.name);
    const roleText = t(`role.${u.role}`);
    setText($('hdr-user-role'), u.role === 'specialist' && u.specialties?.length
      ? `${roleText} · ${specialtiesText(u.specialties)}` : roleText);
  }
  renderConn();
  renderPresenceSwitch();
}

function renderConn() {
  const state = client?.state;
  const el = $('hdr-conn');
  const text = state === 'open' ? t('conn.online') : state === 'reconnecting' ? t('conn.reconnecting') : t('app.connecting');
  setText($('hdr-conn-text'), text);
  el.dataset.state = state || 'idle';
}

let presenceSeq = 0;
let autoBusy = false; // "busy" was set by entering a room, not by the user

function rememberPresence(status) {
  try { sessionStorage.setItem(PRESENCE_KEY, status); } catch { /* ignore */ }
}

function rememberedPresence() {
  try { return sessionStorage.getItem(PRESENCE_KEY); } catch { return null; }
}

/** The availability switch: built once per language, then only its checked state changes,
 *  so keyboard focus stays where it is while the user moves through it with the arrows. */
function renderPresenceSwitch() {
  const box = $('hdr-presence');
  const isSpec = session?.user.role === 'specialist';
  box.hidden = !isSpec;
  if (!isSpec) { box.replaceChildren(); delete box.dataset.lang; return; }
  if (box.dataset.lang !== getLang() || !box.firstChild) {
    box.dataset.lang = getLang();
    const focused = box.contains(document.activeElement) ? document.activeElement.value : null;
    setChildren(box, h('fieldset', { class: 'presence-switch' },
      h('legend', { text: t('presence.label') }),
      h('div', { class: 'segmented' }, PRESENCES.map((p) => {
        const id = `presence-${p}`;
        return h('span', { class: ['segment', `segment-${p}`] },
          h('input', { type: 'radio', name: 'presence', id, value: p, on: { change: () => { autoBusy = false; setPresence(p); } } }),
          h('label', { for: id }, presenceBadge(p)));
      })),
      h('span', { class: 'presence-offline' }, presenceBadge('offline'))));
    if (focused) box.querySelector(`input[value="${focused}"]`)?.focus();
  }
  const fieldset = box.firstChild;
  for (const input of fieldset.querySelectorAll('input')) input.checked = input.value === session.presence;
  fieldset.disabled = !ctx.isOpen();
  fieldset.querySelector('.presence-offline').hidden = session.presence !== 'offline';
}

/** Sends every choice in order (the server answers in order); a failure of the latest one
 *  puts the switch back to what the server last confirmed. */
async function setPresence(status, { auto = false, quiet = false } = {}) {
  if (!session) return;
  const seq = ++presenceSeq;
  const previous = session.confirmedPresence ?? session.presence;
  session.presence = status;
  renderPresenceSwitch();
  document.querySelector('.presence-switch')?.setAttribute('aria-busy', 'true');
  try {
    await client.request('presence.set', { status });
    if (session) session.confirmedPresence = status;
    rememberPresence(status);
    if (seq === presenceSeq && !quiet) {
      announce(auto && status === 'busy' ? t('presence.autoBusy') : t('presence.changed', { status: t(`presence.${status}`) }));
    }
  } catch (err) {
    if (session && seq === presenceSeq) session.presence = previous;
    reportError(err, 'presence');
  } finally {
    if (seq === presenceSeq) {
      document.querySelector('.presence-switch')?.removeAttribute('aria-busy');
      renderPresenceSwitch();
      renderSoon();
    }
  }
}

// ---- banners -----------------------------------------------------------------------------

let lastStatus = null;

function onStatus(e) {
  const prev = lastStatus;
  lastStatus = e.detail;
  if (e.detail.state === 'reconnecting' && prev?.state !== 'reconnecting' && e.detail.reason === '1009') {
    showError(() => closeText('1009'));
  }
  renderConn();
  renderConnBanner();
  renderPresenceSwitch();
  if (viewKind === 'call') view.onConnection?.(e.detail.state);
}

function renderConnBanner() {
  const el = $('conn-banner');
  if (!client || client.state !== 'reconnecting') {
    el.hidden = true;
    el.replaceChildren();
    return;
  }
  const reason = lastStatus?.reason ? closeText(lastStatus.reason) : '';
  const secs = Math.max(0, Math.ceil((client.retryAt - Date.now()) / 1000));
  let countdown = el.querySelector('.conn-countdown');
  if (!countdown || el.dataset.lang !== getLang() || el.dataset.reason !== reason) {
    el.dataset.lang = getLang();
    el.dataset.reason = reason;
    countdown = h('span', { class: 'conn-countdown', 'aria-hidden': 'true' });
    setChildren(el,
      h('span', { class: 'spinner', 'aria-hidden': 'true' }),
      h('div', { class: 'conn-text' },
        h('p', {}, h('strong', { text: t('banner.lost') }), ' ', reason, ' ', countdown),
        h('p', { class: 'hint', text: t('banner.hint') })),
      h('button', { type: 'button', class: 'btn btn-secondary btn-small', on: { click: () => client?.retryNow() } }, t('banner.retryNow')));
  }
  setText(countdown, secs > 0 ? t('banner.retryIn', { s: secs, n: client.attempt }) : t('banner.retrying'));
  el.hidden = false;
}

function renderSessionBanner() {
  const el = $('session-banner');
  const exp = session?.user?.expires_at;
  const left = exp ? exp - client.serverNow() : Infinity;
  const show = !!exp && left < SESSION_WARN_MS && left > 0;
  const text = show ? t('session.expiring', { time: fmtTime(exp, client.serverNow()) }) : '';
  if (el.textContent !== text) setChildren(el, show ? h('p', { text }) : null);
  el.hidden = !show;
}

// ---- once a second ------------------------------------------------------------------------

function tick() {
  tickCountdowns($('main'));
  if (client?.state === 'reconnecting') renderConnBanner();
  renderSessionBanner();
}


boot();
