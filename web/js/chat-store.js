// chat-store.js — the chat messages the client knows, per consult: upserted by
// id from chat.message notices and chat.history replies (the sender gets its
// own notice too: one message, never two), listed in seq order, and what this
// user has read (the highest seq seen, kept in sessionStorage so a reload does
// not count old messages as new). Emits 'change' {consultId}.

const READ_KEY = 'consilium.chatRead.';
const PAGE = 200; // chat.history returns at most this many

function validMessage(m) {
  return m && typeof m.id === 'string' && typeof m.consult_id === 'string' && Number.isFinite(m.seq);
}

export class ChatStore extends EventTarget {
  constructor() {
    super();
    this.rooms = new Map(); // consultId → {messages: Map, loaded, loading, error, hasEarlier}
    this.me = null;         // {subject, tenant}
  }

  setUser(user) {
    this.me = user ? { subject: user.subject, tenant: user.tenant } : null;
  }

  room(consultId) {
    let r = this.rooms.get(consultId);
    if (!r) {
      r = { messages: new Map(), loaded: false, loading: null, error: null, hasEarlier: false };
      this.rooms.set(consultId, r);
    }
    return r;
  }

  emit(consultId) {
    this.dispatchEvent(new CustomEvent('change', { detail: { consultId } }));
  }

  clear() {
    this.rooms.clear();
    this.emit(null);
  }

  /** One message (from a notice or a reply); returns true when it was new. */
  upsert(m, { quiet = false } = {}) {
    if (!validMessage(m)) return false;
    const r = this.room(m.consult_id);
    const isNew = !r.messages.has(m.id);
    r.messages.set(m.id, m);
    if (!quiet) this.emit(m.consult_id);
    return isNew;
  }

  /** Messages of a consult, oldest first. */
  list(consultId) {
    const r = this.rooms.get(consultId);
    if (!r) return [];
    return [...r.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  state(consultId) {
    const r = this.rooms.get(consultId);
    return { loaded: !!r?.loaded, loading: !!r?.loading, error: r?.error || null, hasEarlier: !!r?.hasEarlier };
  }

  mine(m) {
    return !!this.me && m.from?.subject === this.me.subject;
  }

  /**
   * chat.history: the latest messages (or, with beforeSeq, the ones before), merged
   * into what is known. request(type, fields) → Promise of the reply.
   */
  async load(consultId, request, { beforeSeq } = {}) {
    const r = this.room(consultId);
    if (r.loading && !beforeSeq) return r.loading;
    const fields = { consult_id: consultId };
    if (beforeSeq) fields.before_seq = beforeSeq;
    const p = (async () => {
      try {
        const reply = await request('chat.history', fields);
        const msgs = Array.isArray(reply?.messages) ? reply.messages.filter(validMessage) : [];
        for (const m of msgs) this.upsert(m, { quiet: true });
        if (!beforeSeq || msgs.length < PAGE) r.hasEarlier = msgs.length >= PAGE && (msgs[0]?.seq ?? 1) > 1;
        r.loaded = true;
        r.error = null;
      } catch (err) {
        r.error = err;
        throw err;
      } finally {
        if (!beforeSeq) r.loading = null;
        this.emit(consultId);
      }
    })();
    if (!beforeSeq) r.loading = p;
    this.emit(consultId);
    return p;
  }

  // ---- read / unread ------------------------------------------------------------------

  readSeq(consultId) {
    try { return Number(sessionStorage.getItem(READ_KEY + consultId)) || 0; } catch { return 0; }
  }

  /** Everything known of this consult counts as read (the chat is in view). */
  markRead(consultId) {
    const last = this.list(consultId).at(-1)?.seq || 0;
    if (last <= this.readSeq(consultId)) return;
    try { sessionStorage.setItem(READ_KEY + consultId, String(last)); } catch { /* ignore */ }
    this.emit(consultId);
  }

  /** Messages of others not read yet. */
  unread(consultId) {
    const seen = this.readSeq(consultId);
    return this.list(consultId).filter((m) => m.seq > seen && !this.mine(m)).length;
  }
}
