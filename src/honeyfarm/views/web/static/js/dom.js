// SPDX-License-Identifier: MIT
// DOM helpers. Every string reaches the page as a text node or through a
// safe attribute setter: nothing here parses HTML.

const SAFE_ATTRS = new Set([
  'class', 'id', 'title', 'type', 'value', 'placeholder', 'role', 'tabindex', 'name', 'for', 'min', 'max',
  'step', 'colspan', 'rowspan', 'disabled', 'checked', 'selected', 'aria-label', 'aria-pressed',
  'aria-current', 'aria-live', 'aria-hidden', 'aria-expanded', 'aria-sort', 'autocomplete', 'spellcheck',
  'scope', 'lang', 'dir',
]);

/**
 * Build an element. attrs: {class, dataset: {...}, on: {click: fn}, ...safe attributes};
 * children: strings (become text nodes), nodes, arrays, null/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'on') {
        for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      } else if (k === 'dataset') {
        for (const [dk, dv] of Object.entries(v)) if (dv !== null && dv !== undefined) el.dataset[dk] = String(dv);
      } else if (k === 'text') {
        el.textContent = String(v);
      } else if (k.startsWith('data-')) {
        el.setAttribute(k, String(v));
      } else if (SAFE_ATTRS.has(k)) {
        if (v === true) el.setAttribute(k, '');
        else el.setAttribute(k, String(v));
      } else {
        throw new Error(`h(): attribute ${k} is not allowed`);
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// ------------------------------------------------------------------ formatting
const NUM = new Intl.NumberFormat('en-US');
const NUM2 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const USD = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 });
const USD4 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 4 });

export function fmtInt(v) {
  if (v === null || v === undefined || v === '') return '—';
  const n = Number(v);
  return Number.isFinite(n) ? NUM.format(Math.round(n)) : String(v);
}

export function fmtNum(v) {
  if (v === null || v === undefined || v === '') return '—';
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  return Math.abs(n) >= 100 ? NUM.format(Math.round(n)) : NUM2.format(n);
}

export function fmtUsd(v, small) {
  if (v === null || v === undefined || v === '') return '—';
  const n = Number(v);
  return Number.isFinite(n) ? (small ? USD4 : USD).format(n) : String(v);
}

export function fmtCompact(n) {
  const a = Math.abs(n);
  if (a >= 1e9) return `${NUM2.format(n / 1e9)}G`;
  if (a >= 1e6) return `${NUM2.format(n / 1e6)}M`;
  if (a >= 1e4) return `${NUM2.format(n / 1e3)}k`;
  return NUM.format(n);
}

/** "2026-11-20T13:05:00.123" (UTC, no zone) -> "2026-11-20 13:05:00". */
export function fmtTs(v) {
  if (v === null || v === undefined || v === '') return '—';
  const s = String(v);
  const m = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d)?)/.exec(s);
  return m ? `${m[1]} ${m[2]}` : s;
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.max(0, Number(seconds));
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.floor(s % 60)}s`;
  const hh = Math.floor(m / 60);
  if (hh < 48) return `${hh}h ${m % 60}m`;
  return `${Math.floor(hh / 24)}d ${hh % 24}h`;
}

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Parse a backend timestamp (UTC without zone) as a Date. */
export function parseTs(v) {
  if (!v) return null;
  const s = String(v);
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A Date as the API's ISO form: "2026-11-20T13:05:00Z". */
export function isoZ(d) {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ------------------------------------------------------------------ small widgets
export function spinner(label) {
  return h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spin', 'aria-hidden': 'true' }), label || 'Loading…');
}

export function errorBox(err) {
  return h('div', { class: 'error', role: 'alert' }, h('strong', null, 'Could not load: '), String(err && err.message ? err.message : err));
}

export function emptyBox(text) {
  return h('div', { class: 'empty' }, text);
}

/** A card: title bar (with optional tools), body. */
export function card(title, body, opts = {}) {
  const tools = opts.tools ? h('div', { class: 'card-tools' }, opts.tools) : null;
  return h(
    'section',
    { class: `card ${opts.class || ''}`.trim() },
    h('header', { class: 'card-head' }, h('h2', null, title), opts.sub ? h('span', { class: 'card-sub' }, opts.sub) : null, tools),
    h('div', { class: 'card-body' }, body),
  );
}

/** A segmented control: options [[value, label], ...]; onChange(value). */
export function segmented(options, current, onChange, label) {
  const wrap = h('div', { class: 'seg', role: 'group', 'aria-label': label || null });
  for (const [value, text] of options) {
    const b = h('button', { type: 'button', class: value === current ? 'on' : null, 'aria-pressed': value === current ? 'true' : 'false' }, text);
    b.dataset.value = value;
    b.addEventListener('click', () => {
      for (const o of wrap.children) {
        o.classList.toggle('on', o === b);
        o.setAttribute('aria-pressed', o === b ? 'true' : 'false');
      }
      onChange(value);
    });
    wrap.appendChild(b);
  }
  return wrap;
}
