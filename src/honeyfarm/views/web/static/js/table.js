// SPDX-License-Identifier: MIT
// Tables: data cells are text nodes; numbers right-aligned with separators.

import { rowsOf } from './api.js';
import { countryName } from './charts.js';
import { append, clear, errorBox, esc, fmtDuration, fmtInt, fmtNum, fmtTs, fmtUsd, h, longText } from './dom.js';
import { buildHash, filterParams, parseHash } from './state.js';

const NUMERIC = new Set(['int', 'num', 'usd', 'usd4', 'dur', 'plain']);
// kinds whose values are free text (attacker-controlled): '' is a column without a kind
const TEXT_KINDS = new Set(['', 'mono']);

function cellText(col, v, row) {
  switch (col.kind) {
    case 'int':
      return fmtInt(v);
    case 'num':
      return fmtNum(v);
    case 'usd':
      return fmtUsd(v);
    case 'usd4':
      return fmtUsd(v, true);
    case 'dur':
      return fmtDuration(v);
    case 'ts':
      return fmtTs(v);
    case 'plain':
      return v === null || v === undefined || v === '' ? '—' : String(v);
    case 'bool':
      return v === null || v === undefined ? '—' : v ? 'yes' : 'no';
    default:
      if (col.format) return col.format(v, row);
      return v === null || v === undefined || v === '' ? '—' : String(v);
  }
}

/**
 * Fill a cell with attacker text (class "text": wraps anywhere, isolated): escaped, cut at n characters
 * with the whole value on demand (dom.js longText). A short value keeps its width, so a long value in
 * another column does not break it up.
 */
export function fillText(td, value, n) {
  const el = longText(value, n);
  td.classList.add('text');
  // (Chrome counts a cell's min-width with its padding, 2 × 8 px)
  if (!td.classList.contains('wide')) td.style.minWidth = `calc(${Math.min((el.textContent || '').length, 16) + 0.5}ch + 16px)`;
  td.appendChild(el);
  return td;
}

// An address as the lake stores it (IPv4 dotted quad or IPv6 hex groups): only these become IP-page links.
const IP_RE = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)$/;
// Columns holding a source address, in every view: the cell links to the IP page (#/ip/<addr>).
const IP_KEYS = new Set(['ip', 'src_ip']);

/**
 * A button to the IP page of ip, keeping the current filters (a button, not <a href>: no URL attribute is
 * set from data); a badge when the row says the address is internal.
 */
export function ipCell(td, ip, internal) {
  const b = h('button', { type: 'button', class: 'btn small ghost ip-link mono', title: 'What this address did, on every sensor' }, String(ip));
  b.dataset.ip = String(ip);
  b.addEventListener('click', (ev) => {
    ev.stopPropagation(); // the IP page, not the row's own action
    location.hash = buildHash('ip', [String(ip)], filterParams(parseHash(location.hash).params));
  });
  b.addEventListener('keydown', (ev) => ev.stopPropagation());
  td.appendChild(b);
  if (internal) td.append(' ', h('span', { class: 'chip-k ip-internal', title: 'An internal (loopback, private, link-local, CGNAT or ULA) address' }, 'internal'));
  return td;
}

function cell(col, row) {
  const v = row[col.key];
  const cls = [NUMERIC.has(col.kind) ? 'num' : null, col.kind === 'mono' ? 'mono' : null, col.class || null];
  if (v === null || v === undefined || v === '') cls.push('nil');
  const td = h('td', { class: cls.filter(Boolean).join(' ') || null });
  if (IP_KEYS.has(col.key) && typeof v === 'string' && v.length <= 64 && IP_RE.test(v)) {
    ipCell(td, v, row.internal === true);
  } else if (col.kind === 'country') {
    if (v) {
      append(td, [h('span', { class: 'cc' }, String(v)), ` ${countryName(v, row[col.nameKey || 'name'] || '')}`]);
    } else {
      td.textContent = '—';
    }
  } else if (TEXT_KINDS.has(col.kind || '') && !(v === null || v === undefined || v === '')) {
    // attacker text: escaped, cut at CAP characters, the whole value on demand
    fillText(td, cellText(col, v, row));
  } else {
    td.textContent = esc(cellText(col, v, row));
  }
  // "(unknown)", "(none)": the backend's placeholders are not values to filter on
  if (col.pick && v !== null && v !== undefined && v !== '' && !/^\(.*\)$/.test(String(v))) {
    td.classList.add('pick');
    td.tabIndex = 0;
    td.title = col.pickTitle || 'Filter on this value';
    const go = (ev) => {
      ev.stopPropagation();
      col.pick(row, v);
    };
    td.addEventListener('click', go);
    td.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') go(ev);
    });
  }
  return td;
}

/** What a ≈ mark means (a header's or a counter's title). */
export const ESTIMATED = 'Estimated: distinct sessions are counted approximately (HyperLogLog, typically within 2–4%) on a lake this big';

/**
 * A <table data-table=name>. columns: [{key, label, kind, pick, ...}]; rows: objects. onRow(row) makes rows
 * clickable (those for which opts.canOpen(row), when given, is true).
 */
export function table(name, columns, rows, opts = {}) {
  // opts.estimated: keys of columns the server estimated (HyperLogLog distinct counts on a big lake): marked ≈.
  const est = new Set(opts.estimated || []);
  const head = (c) =>
    est.has(c.key)
      ? h('th', { class: NUMERIC.has(c.kind) ? 'num' : null, scope: 'col', 'data-estimated': '', title: ESTIMATED }, `≈ ${c.label || c.key}`)
      : h('th', { class: NUMERIC.has(c.kind) ? 'num' : null, scope: 'col', title: c.title || null }, c.label || c.key);
  const thead = h('thead', null, h('tr', null, columns.map(head)));
  const tbody = h('tbody');
  for (const row of rows) {
    const tr = h('tr', null, columns.map((c) => cell(c, row)));
    if (opts.onRow && !(opts.canOpen && !opts.canOpen(row))) {
      tr.classList.add('row-link');
      tr.tabIndex = 0;
      tr.addEventListener('click', () => opts.onRow(row));
      tr.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') opts.onRow(row);
      });
    }
    if (opts.rowClass) {
      const c = opts.rowClass(row);
      if (c) tr.classList.add(c);
    }
    tbody.appendChild(tr);
  }
  if (!rows.length) {
    const td = h('td', { class: 'empty-cell', colspan: String(columns.length) }, opts.empty || 'Nothing matches the filters.');
    tbody.appendChild(h('tr', { class: 'empty-row' }, td));
  }
  const t = h('table', { class: `grid ${opts.class || ''}`.trim(), 'data-table': name }, thead, tbody);
  return h('div', { class: 'table-wrap' }, t);
}

/**
 * A table that pages through an API list (limit/offset/has_more).
 * fetchPage(limit, offset) -> Promise<table answer>. Returns {el, load(), rows}.
 */
export function pagedTable(name, columns, fetchPage, opts = {}) {
  const limit = opts.limit || 25;
  let offset = 0;
  const body = h('div', { class: 'paged-body' });
  const info = h('span', { class: 'page-info' });
  const prev = h('button', { type: 'button', class: 'btn small', 'data-page': 'prev', disabled: true }, '‹ Prev');
  const next = h('button', { type: 'button', class: 'btn small', 'data-page': 'next', disabled: true }, 'Next ›');
  const pager = h('div', { class: 'pager', 'data-pager': name }, prev, info, next);
  const el = h('div', { class: 'paged' }, body, pager);
  const state = { rows: [], el, load, reset };

  async function load() {
    prev.disabled = true;
    next.disabled = true;
    el.classList.add('busy');
    try {
      const ans = await fetchPage(limit, offset);
      const rows = rowsOf(ans);
      state.rows = rows;
      state.answer = ans;
      clear(body);
      body.appendChild(table(name, columns, rows, { ...opts, estimated: ans.estimated }));
      const first = rows.length ? offset + 1 : 0;
      info.textContent = rows.length ? `${fmtInt(first)}–${fmtInt(offset + rows.length)}${ans.has_more ? '' : ` of ${fmtInt(offset + rows.length)}`}` : '';
      prev.disabled = offset === 0;
      next.disabled = !ans.has_more;
      pager.hidden = offset === 0 && !ans.has_more;
      return rows;
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      replaceBody(errorBox(err));
      throw err;
    } finally {
      el.classList.remove('busy');
    }
  }
  function replaceBody(node) {
    clear(body);
    body.appendChild(node);
  }
  function reset() {
    offset = 0;
    return load();
  }
  prev.addEventListener('click', () => {
    offset = Math.max(0, offset - limit);
    load().catch(() => {});
  });
  next.addEventListener('click', () => {
    offset += limit;
    load().catch(() => {});
  });
  return state;
}
