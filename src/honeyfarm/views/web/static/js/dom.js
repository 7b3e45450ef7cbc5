// SPDX-License-Identifier: MIT
// DOM helpers. Every string reaches the page as a text node or through a
// safe attribute setter: nothing here parses HTML.

const SAFE_ATTRS = new Set([
  'class', 'id', 'title', 'type', 'value', 'placeholder', 'role', 'tabindex', 'name', 'for', 'min', 'max',
  'step', 'colspan', 'rowspan', 'disabled', 'checked', 'selected', 'aria-label', 'aria-pressed',
  'aria-current', 'aria-live', 'aria-hidden', 'aria-expanded', 'aria-sort', 'autocomplete', 'spellcheck',
  'scope', 'lang', 'dir',
]);
// attributes the browser shows as text (tooltips, read-outs): escaped and capped like text
const SHOWN_ATTRS = new Set(['title', 'aria-label', 'placeholder']);

// ------------------------------------------------------------------ hostile text
// Characters that are invisible or that reorder the text around them: controls
// (Cc), format characters (Cf: bidi embeddings, overrides and isolates, LRM/RLM,
// ALM, zero-width space/joiners, word joiner, invisible operators, BOM, soft
// hyphen, Mongolian vowel separator, tags), line/paragraph separators, unpaired
// surrogates and the Hangul fillers. They are shown as escapes, \x1b or \u202e,
// as the terminal output writes them (honeyfarm.views.render.escape_terminal).
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u115f\u1160\u3164\uffa0]/gu;

/** s with every hidden or reordering character as a visible escape; keepLines keeps \n and \t. */
export function esc(s, keepLines) {
  return String(s).replace(HIDDEN, (c) => {
    if (keepLines && (c === '\n' || c === '\t')) return c;
    const n = c.codePointAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** Cells show this many characters of a value (after escaping); the rest on demand. */
export const CAP = 200;
const HARD_CAP = 4096; // any other text node: a backstop, not a display length

/** The first n characters of s (not splitting a surrogate pair), with "…" when cut. */
export function cap(s, n = CAP) {
  const t = String(s);
  if (t.length <= n) return t;
  let cut = t.slice(0, Math.max(1, n - 1));
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Escaped and capped: for titles, labels, options, chips. */
export function clip(s, n = CAP) {
  return cap(esc(s), n);
}

/**
 * Attacker text for a table cell or a fact: escaped; when longer than n, the first
 * n characters and a button that shows all of it (in a scrolling box) and back.
 */
export function longText(value, n = CAP) {
  const full = esc(value);
  const span = h('span', { class: 'txt' });
  if (full.length <= n) {
    span.appendChild(document.createTextNode(full));
    return span;
  }
  span.classList.add('cut');
  const shown = h('span', { class: 'txt-v' }, cap(full, n));
  const more = h('button', { type: 'button', class: 'more', 'data-more': '1', 'aria-expanded': 'false', title: 'Show the whole value' }, `all ${NUM.format(full.length)} chars`);
  more.addEventListener('click', (ev) => {
    ev.stopPropagation();
    const open = more.getAttribute('aria-expanded') !== 'true';
    clear(shown);
    if (open) {
      const box = h('span', { class: 'txt-full', 'data-full': '1', tabindex: '0' });
      box.appendChild(document.createTextNode(full)); // the whole value, escaped
      shown.appendChild(box);
    } else {
      shown.appendChild(document.createTextNode(cap(full, n)));
    }
    span.classList.toggle('open', open);
    more.setAttribute('aria-expanded', open ? 'true' : 'false');
    more.textContent = open ? 'less' : `all ${NUM.format(full.length)} chars`;
  });
  more.addEventListener('keydown', (ev) => ev.stopPropagation());
  span.append(shown, more);
  return span;
}

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
        el.textContent = cap(esc(v), HARD_CAP);
      } else if (k.startsWith('data-')) {
        el.setAttribute(k, String(v));
      } else if (SAFE_ATTRS.has(k)) {
        if (v === true) el.setAttribute(k, '');
        else if (SHOWN_ATTRS.has(k)) el.setAttribute(k, clip(v, 600));
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
    else el.appendChild(document.createTextNode(cap(esc(c), HARD_CAP)));
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
  // 400/422: the server refused the filters (e.g. a time range outside /api/meta's window): its own words
  if (err && (err.status === 400 || err.status === 422) && err.detail) {
    return h('div', { class: 'error', role: 'alert' }, h('strong', null, 'The server refused these filters: '), clip(err.detail, 400));
  }
  return h('div', { class: 'error', role: 'alert' }, h('strong', null, 'Could not load: '), clip(err && err.message ? err.message : err, 400));
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
