// store.js — the client's map of consults by id, kept as PROTOCOL.md says:
// welcome/state replace everything; consult.updated, consult.offered,
// consult.escalation and ok-with-consult replace one entry; consult.withdrawn
// removes one. Also the vocabulary orders and the queue order (most urgent
// first, then earliest deadline_at). Emits 'change' {reason, id, previous, consult}.

export const URGENCIES = ['emergency', 'urgent', 'planned'];
export const MODES = ['realtime', 'deferred'];
export const STATES = ['requested', 'offered', 'accepted', 'in_progress', 'ended', 'cancelled', 'expired'];
export const PRESENCES = ['available', 'busy', 'away'];
export const SPECIALTIES = ['cardiology', 'neurology', 'pulmonology', 'pediatrics', 'surgery',
  'traumatology', 'oncology', 'infectious-diseases', 'obstetrics', 'psychiatry'];

export const isQueued = (c) => c.state === 'requested' || c.state === 'offered';
export const isActive = (c) => c.state === 'accepted' || c.state === 'in_progress';
export const isFinal = (c) => c.state === 'ended' || c.state === 'cancelled' || c.state === 'expired';

const urgencyRank = (u) => { const i = URGENCIES.indexOf(u); return i < 0 ? URGENCIES.length : i; };

/** Queue order of PROTOCOL.md: urgency (emergency first), then earliest deadline_at. */
export function queueCompare(a, b) {
  return urgencyRank(a.urgency) - urgencyRank(b.urgency)
    || (a.deadline_at ?? Infinity) - (b.deadline_at ?? Infinity)
    || (a.created_at ?? 0) - (b.created_at ?? 0)
    || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Most recently changed first (for non-queued lists). */
export function recentCompare(a, b) {
  return (b.updated_at ?? 0) - (a.updated_at ?? 0) || (a.id < b.id ? -1 : 1);
}

export function isParticipant(c, user) {
  if (!user) return false;
  return (c.participants || []).some((p) => p.subject === user.subject && p.tenant === user.tenant);
}

export function participantOf(c, user) {
  return (c.participants || []).find((p) => p.subject === user.subject && p.tenant === user.tenant) || null;
}

export class ConsultStore extends EventTarget {
  constructor() {
    super();
    this.map = new Map();
  }

  get(id) { return this.map.get(id); }
  all() { return [...this.map.values()]; }
  get size() { return this.map.size; }

  emit(detail) {
    this.dispatchEvent(new CustomEvent('change', { detail }));
  }

  replaceAll(consults) {
    this.map.clear();
    for (const c of consults || []) if (c && typeof c.id === 'string') this.map.set(c.id, c);
    this.emit({ reason: 'replace' });
  }

  clear() {
    this.map.clear();
    this.emit({ reason: 'replace' });
  }

  /** Replaces the entry unless the incoming copy is strictly older. */
  upsert(c, reason = 'update') {
    if (!c || typeof c.id !== 'string') return;
    const previous = this.map.get(c.id);
    if (previous && (c.updated_at ?? 0) < (previous.updated_at ?? 0)) return;
    this.map.set(c.id, c);
    this.emit({ reason, id: c.id, previous, consult: c });
  }

  remove(id, reason = 'withdrawn', why) {
    const previous = this.map.get(id);
    if (!previous) return;
    this.map.delete(id);
    this.emit({ reason, id, previous, why });
  }

  /** Applies any server message that carries consult state. Returns true when it did. */
  apply(msg) {
    switch (msg.type) {
      case 'welcome':
      case 'state':
        this.replaceAll(msg.consults);
        return true;
      case 'consult.updated':
        this.upsert(msg.consult, 'updated');
        return true;
      case 'consult.offered':
        this.upsert(msg.consult, 'offered');
        return true;
      case 'consult.escalation':
        this.upsert(msg.consult, 'escalation');
        return true;
      case 'consult.withdrawn':
        this.remove(msg.consult_id, 'withdrawn', msg.reason);
        return true;
      case 'ok':
        if (msg.consult) { this.upsert(msg.consult, 'ok'); return true; }
        return false;
      default:
        return false;
    }
  }
}
