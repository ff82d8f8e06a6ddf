// views/tabs.js — an accessible tab set (WAI-ARIA tabs pattern): a tablist of
// buttons, one visible tabpanel; arrow keys, Home and End move between tabs
// (and select them), Tab goes into the panel. A tab may carry a count badge
// (unread messages) that is spoken with its name. Panels are given as
// elements and may be moved in and out (the room view rearranges them).

import { h, setText } from '../dom.js';

let seq = 0;

/**
 * tabs: [{key, label: () => text}]; onSelect(key) after a change.
 * API: el, select(key, {focus}), selected, panel(key) → the panel element to fill,
 *      setCount(key, n, spoken: () => text), relabel(), setVisible(key, bool).
 */
export function createTabs({ tabs, onSelect = () => {}, label = () => '' }) {
  const id = `tabs-${++seq}`;
  const list = h('div', { class: 'tablist', role: 'tablist' });
  const panels = h('div', { class: 'tabpanels' });
  const el = h('div', { class: 'tabs' }, list, panels);
  const items = new Map();
  let selected = tabs[0]?.key;

  for (const tab of tabs) {
    const tabId = `${id}-tab-${tab.key}`;
    const panelId = `${id}-panel-${tab.key}`;
    const text = h('span', { class: 'tab-label' });
    const count = h('span', { class: 'tab-count', hidden: true, 'aria-hidden': 'true' });
    const btn = h('button', {
      type: 'button', role: 'tab', id: tabId, class: 'tab', 'aria-controls': panelId, dataset: { tab: tab.key },
    }, text, count);
    const panel = h('div', { role: 'tabpanel', id: panelId, class: 'tabpanel', 'aria-labelledby': tabId, dataset: { tab: tab.key } });
    btn.addEventListener('click', () => select(tab.key));
    btn.addEventListener('keydown', (e) => {
      const visible = tabs.filter((x) => !items.get(x.key).btn.hidden);
      const i = visible.findIndex((x) => x.key === tab.key);
      let next = null;
      if (e.key === 'ArrowRight' || e.key === 'ArrowDown') next = visible[(i + 1) % visible.length];
      else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') next = visible[(i - 1 + visible.length) % visible.length];
      else if (e.key === 'Home') next = visible[0];
      else if (e.key === 'End') next = visible[visible.length - 1];
      if (!next) return;
      e.preventDefault();
      select(next.key, { focus: true });
    });
    list.append(btn);
    panels.append(panel);
    items.set(tab.key, { tab, btn, panel, text, count, n: 0, spoken: null });
  }

  function render() {
    list.setAttribute('aria-label', label());
    for (const [key, it] of items) {
      const on = key === selected;
      it.btn.setAttribute('aria-selected', String(on));
      it.btn.tabIndex = on ? 0 : -1;
      it.panel.hidden = !on;
      setText(it.text, it.tab.label());
      setText(it.count, it.n > 0 ? String(it.n) : '');
      it.count.hidden = !(it.n > 0);
      if (it.n > 0 && it.spoken) it.btn.setAttribute('aria-label', `${it.tab.label()}, ${it.spoken()}`);
      else it.btn.removeAttribute('aria-label');
    }
  }

  function select(key, { focus = false } = {}) {
    if (!items.has(key)) return;
    const changed = key !== selected;
    selected = key;
    render();
    if (focus) items.get(key).btn.focus();
    if (changed) onSelect(key);
  }

  render();
  return {
    el,
    select,
    get selected() { return selected; },
    panel: (key) => items.get(key).panel,
    setCount(key, n, spoken) {
      const it = items.get(key);
      if (it.n === n) return;
      it.n = n;
      it.spoken = spoken;
      render();
    },
    setVisible(key, visible) {
      const it = items.get(key);
      it.btn.hidden = !visible;
      if (!visible && selected === key) select(tabs.find((x) => !items.get(x.key).btn.hidden)?.key);
    },
    relabel: render,
  };
}
