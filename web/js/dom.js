// dom.js — tiny DOM helpers. Every piece of text reaches the page through
// textContent / text nodes / setAttribute: nothing here (or anywhere in the
// client) assigns innerHTML, so server strings can never become markup.

/**
 * h('button', {class: 'btn', type: 'button', on: {click}}, 'text', childNode)
 * props: class, text, dataset {..}, on {event: fn}, hidden, and anything else
 * becomes an attribute (false/null/undefined: left out; true: empty attribute).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') { el.defaultChecked = !!v; el.checked = !!v; }
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces all children of el. */
const SVG_NS = 'http://www.w3.org/2000/svg';

/** A decorative line icon (20×20 view box) drawn from SVG path strings, hidden from screen readers. */
export function svgIcon(paths, size = 20) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 20 20');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', 'icon');
  for (const d of paths) {
    const p = document.createElementNS(SVG_NS, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

export function setChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Sets textContent only when it differs (keeps live regions quiet). */
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

let uid = 0;
/** A page-unique id for label/aria wiring. */
export function nextId(prefix = 'id') {
  uid += 1;
  return `${prefix}-${uid}`;
}

const signatures = new WeakMap();

/**
 * Keyed list rendering that keeps unchanged rows (and the keyboard focus)
 * in place: a row is rebuilt only when its signature string changes.
 * A focused control inside a rebuilt row is found again by its
 * data-focus attribute.
 */
export function renderKeyed(container, items, { key, render, signature }) {
  const active = document.activeElement;
  let focusKey = null;
  let focusName = null;
  if (active && container.contains(active) && active !== container) {
    const row = active.closest('[data-key]');
    focusKey = row ? row.dataset.key : null;
    focusName = active.dataset.focus || null;
  }
  const old = new Map();
  for (const child of [...container.children]) {
    if (child.dataset.key !== undefined) old.set(child.dataset.key, child);
    else child.remove();
  }
  const rows = [];
  for (const item of items) {
    const k = String(key(item));
    const sig = signature(item);
    let row = old.get(k);
    if (!row || signatures.get(row) !== sig) {
      const fresh = render(item);
      fresh.dataset.key = k;
      signatures.set(fresh, sig);
      if (row) row.replaceWith(fresh);
      row = fresh;
    }
    old.delete(k);
    rows.push(row);
  }
  for (const row of old.values()) row.remove();
  rows.forEach((row, i) => {
    if (container.children[i] !== row) container.insertBefore(row, container.children[i] || null);
  });
  if (focusKey !== null && !container.contains(document.activeElement)) {
    const row = rows.find((r) => r.dataset.key === focusKey);
    const target = row && (focusName ? row.querySelector(`[data-focus="${CSS.escape(focusName)}"]`) : null);
    if (target && !target.disabled) target.focus();
    else if (row) row.focus?.();
  }
}
