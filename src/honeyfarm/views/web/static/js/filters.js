// SPDX-License-Identifier: MIT
// The global filter bar: time range, sensor, region, exposure, honeypot, country, eventid, "exclude internal".
// Its state is the URL hash; every change is a new hash, so views re-query.

import { countryName } from './charts.js';
import { clear, clip, fmtInt, fmtTs, h, isoZ, parseTs } from './dom.js';
import { FILTER_KEYS, INTERNAL_KEY, RANGES, buildHash, internalExcluded, parseHash, rangeBounds } from './state.js';

const LABELS = { sensor: 'Sensor', region: 'Region', exposure: 'Exposure', honeypot: 'Honeypot', country: 'Country', eventid: 'Event id' };

/** The eventid picker's choices: each eventid with its count, and "<a>.<b>.*" for each family of several ids. */
function eventidOptions(list) {
  const out = [];
  const families = new Map();
  for (const e of list || []) {
    out.push([e.eventid, `${e.eventid} (${fmtInt(e.events)})`]);
    const parts = String(e.eventid).split('.');
    if (parts.length > 2) {
      const fam = `${parts.slice(0, -1).join('.')}.*`;
      const f = families.get(fam) || { n: 0, events: 0 };
      families.set(fam, { n: f.n + 1, events: f.events + e.events });
    }
  }
  for (const [fam, f] of families) if (f.n > 1) out.push([fam, `${fam} (${fmtInt(f.events)})`]);
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

function setHash(mutate) {
  const r = parseHash(location.hash);
  const p = new URLSearchParams(r.params);
  mutate(p);
  location.hash = buildHash(r.view, r.args, p);
}

/** datetime-local value (treated as UTC) <-> API ISO. */
function toLocalInput(iso) {
  const d = parseTs(iso);
  return d ? isoZ(d).slice(0, 16) : '';
}
function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(`${v}:00Z`);
  return Number.isNaN(d.getTime()) ? '' : isoZ(d);
}

export class FilterBar {
  constructor(el, meta) {
    this.el = el;
    this.meta = meta;
    clear(el);
    el.setAttribute('data-filterbar', '1');

    // time range
    this.rangeBtns = new Map();
    const seg = h('div', { class: 'seg', role: 'group', 'aria-label': 'Time range' });
    for (const [value, label] of [...RANGES, ['custom', 'Custom']]) {
      const b = h('button', { type: 'button', 'aria-pressed': 'false' }, label);
      b.dataset.range = value;
      b.addEventListener('click', () => this.pickRange(value));
      seg.appendChild(b);
      this.rangeBtns.set(value, b);
    }
    // the pickers offer the range the API accepts (/api/meta's window); typed values outside it get the API's message
    const win = (meta && meta.window) || {};
    const bounds = { min: toLocalInput(win.since) || null, max: toLocalInput(win.until) || null };
    this.since = h('input', { type: 'datetime-local', 'aria-label': 'From (UTC)', title: 'From (UTC, inclusive)', ...bounds });
    this.until = h('input', { type: 'datetime-local', 'aria-label': 'Until (UTC)', title: 'Until (UTC, exclusive)', ...bounds });
    this.since.dataset.filter = 'since';
    this.until.dataset.filter = 'until';
    const apply = h('button', { type: 'button', class: 'btn small primary' }, 'Apply');
    apply.addEventListener('click', () => this.applyCustom());
    this.custom = h('div', { class: 'custom-range' }, this.since, h('span', { class: 'dash' }, '→'), this.until, apply, h('span', { class: 'utc' }, 'UTC'));
    this.rangeText = h('span', { class: 'range-text' });

    // value pickers
    this.selects = {};
    const pickers = h('div', { class: 'pickers' });
    for (const key of FILTER_KEYS) {
      const sel = h('select', { 'aria-label': `Add a ${LABELS[key].toLowerCase()} filter` });
      sel.dataset.filter = key;
      sel.addEventListener('change', () => {
        const v = sel.value;
        sel.value = '';
        if (!v) return;
        setHash((p) => {
          if (!p.getAll(key).includes(v)) p.append(key, v);
        });
      });
      this.selects[key] = sel;
      this.fillSelect(key);
      pickers.appendChild(sel);
    }

    // "exclude internal": on by default (no parameter in the hash), off as internal=include
    this.internalBtn = h('button', {
      type: 'button',
      'aria-pressed': 'true',
      title: 'Leave out events from internal source addresses: loopback, RFC 1918 (Docker bridges), link-local, CGNAT, ULA',
    }, 'Exclude internal');
    this.internalBtn.dataset.toggle = INTERNAL_KEY;
    this.internalBtn.addEventListener('click', () =>
      setHash((p) => {
        if (internalExcluded(p)) p.set(INTERNAL_KEY, 'include');
        else p.delete(INTERNAL_KEY);
      }),
    );
    pickers.appendChild(h('div', { class: 'seg', role: 'group', 'aria-label': 'Internal sources' }, this.internalBtn));

    this.chips = h('div', { class: 'chips', 'aria-live': 'polite' });
    this.clearBtn = h('button', { type: 'button', class: 'btn small ghost', 'data-clear': '1' }, 'Clear filters');
    this.clearBtn.addEventListener('click', () =>
      setHash((p) => {
        for (const k of [...FILTER_KEYS, 'range', 'since', 'until', INTERNAL_KEY]) p.delete(k);
      }),
    );

    el.appendChild(h('div', { class: 'fb-row' }, h('span', { class: 'fb-label' }, 'Time'), seg, this.custom, this.rangeText, h('span', { class: 'fb-sep' }), pickers));
    el.appendChild(h('div', { class: 'fb-row chips-row' }, this.chips, this.clearBtn));
  }

  options(key) {
    const m = this.meta || {};
    if (key === 'sensor') return (m.sensors || []).map((s) => [s, s]);
    if (key === 'region') return (m.regions || []).map((s) => [s, s]);
    if (key === 'exposure') return (m.exposures || []).map((s) => [s, s]);
    if (key === 'honeypot') return (m.honeypots || []).map((s) => [s, s]);
    if (key === 'eventid') return eventidOptions(m.eventids);
    if (key === 'country')
      return (m.countries || [])
        .map((c) => [c.code, `${c.code} · ${c.name || countryName(c.code)}`])
        .sort((a, b) => a[1].localeCompare(b[1]));
    return [];
  }

  fillSelect(key) {
    const sel = this.selects[key];
    clear(sel);
    sel.appendChild(h('option', { value: '' }, `${LABELS[key]}…`));
    for (const [value, label] of this.options(key)) sel.appendChild(h('option', { value, title: label }, clip(label, 80)));
    sel.disabled = sel.options.length <= 1;
  }

  pickRange(value) {
    if (value === 'custom') {
      this.custom.classList.add('open');
      for (const [v, b] of this.rangeBtns) {
        b.classList.toggle('on', v === 'custom');
        b.setAttribute('aria-pressed', v === 'custom' ? 'true' : 'false');
      }
      if (!this.since.value && this.meta) this.since.value = toLocalInput(this.meta.first_seen);
      this.since.focus();
      return;
    }
    setHash((p) => {
      p.delete('since');
      p.delete('until');
      if (value === 'all') p.delete('range');
      else p.set('range', value);
    });
  }

  applyCustom() {
    const s = fromLocalInput(this.since.value);
    const u = fromLocalInput(this.until.value);
    setHash((p) => {
      p.delete('range');
      p.delete('since');
      p.delete('until');
      if (s) p.set('since', s);
      if (u) p.set('until', u);
      if (s || u) p.set('range', 'custom');
    });
  }

  /** Reflect the current hash: pressed range, custom inputs, chips. */
  update(ctx) {
    const p = ctx.params;
    const range = p.get('range') || (p.get('since') || p.get('until') ? 'custom' : 'all');
    for (const [v, b] of this.rangeBtns) {
      b.classList.toggle('on', v === range);
      b.setAttribute('aria-pressed', v === range ? 'true' : 'false');
    }
    this.custom.classList.toggle('open', range === 'custom');
    if (range === 'custom') {
      this.since.value = toLocalInput(p.get('since'));
      this.until.value = toLocalInput(p.get('until'));
    }
    const since = ctx.api.get('since');
    const until = ctx.api.get('until');
    this.rangeText.textContent = since || until ? `${since ? fmtTs(since) : '…'} → ${until ? fmtTs(until) : '…'}` : '';
    this.rangeText.title = range !== 'custom' && range !== 'all' ? 'Whole hours up to the newest event in the lake' : '';

    clear(this.chips);
    let n = 0;
    for (const key of FILTER_KEYS) {
      for (const value of p.getAll(key)) {
        n++;
        const label = key === 'country' ? `${value} ${countryName(value, '')}`.trim() : value;
        const x = h('button', { type: 'button', class: 'chip-x', 'aria-label': `Remove ${LABELS[key].toLowerCase()} filter` }, '×');
        x.addEventListener('click', () =>
          setHash((q) => {
            const rest = q.getAll(key).filter((v) => v !== value);
            q.delete(key);
            for (const v of rest) q.append(key, v);
          }),
        );
        const chip = h('span', { class: `chip chip-${key}` }, h('span', { class: 'chip-k' }, LABELS[key]), h('span', { class: 'chip-v', title: label }, clip(label, 120)), x);
        chip.dataset.filter = key;
        chip.dataset.value = value;
        this.chips.appendChild(chip);
      }
    }
    if (range !== 'all') n++;
    const excluded = internalExcluded(p);
    this.internalBtn.classList.toggle('on', excluded);
    this.internalBtn.setAttribute('aria-pressed', excluded ? 'true' : 'false');
    if (!excluded) n++; // "Clear filters" restores the default
    if (!n) this.chips.appendChild(h('span', { class: 'chips-none' }, `No filters: all events in the lake${excluded ? ' but those from internal addresses' : ''}. Click a bar, a country or a table cell to filter.`));
    this.clearBtn.hidden = n === 0;
  }
}

export { rangeBounds };
