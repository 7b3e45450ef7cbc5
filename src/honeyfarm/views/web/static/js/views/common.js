// SPDX-License-Identifier: MIT
// Pieces shared by the views.

import { getJSON, withParams } from '../api.js';
import { timeSeries } from '../charts.js';
import { fmtInt, h } from '../dom.js';
import { ESTIMATED } from '../table.js';

export function panel(ctx, name, extra, signal) {
  return getJSON(`panels/${name}`, withParams(ctx.api, extra), signal);
}

export function grid(cls, ...children) {
  return h('div', { class: `grid-layout ${cls}` }, ...children);
}

export function viewHead(title, sub, tools) {
  return h('div', { class: 'view-head' }, h('h1', null, title), sub ? h('p', { class: 'view-sub' }, sub) : null, tools ? h('div', { class: 'view-tools' }, tools) : null);
}

/**
 * Events over time: charts.js timeSeries (empty buckets drawn as gaps, the still filling bucket marked).
 * answer: timeline panel table (bucket, events) or (bucket, series, events).
 * opts: {kind: 'area'|'bar', stack: bool, onSeries(name), bucket, zoom}
 */
export function timeChart(el, answer, opts = {}) {
  return timeSeries(el, answer, opts);
}

/** Counter cards: [{key, label, value, kind}] */
export function counters(items) {
  return h(
    'div',
    { class: 'counters' },
    items.map((it) => {
      const text = it.text !== undefined ? it.text : fmtInt(it.value);
      const v = h('div', { class: 'counter-v' }, it.estimated ? `≈ ${text}` : text); // an estimate (table.js ESTIMATED)
      const c = h('div', { class: `counter ${it.class || ''}`.trim() }, h('div', { class: 'counter-k' }, it.label), v, it.sub ? h('div', { class: 'counter-s' }, it.sub) : null);
      c.dataset.counter = it.key;
      if (it.estimated) {
        c.dataset.estimated = '';
        c.title = ESTIMATED;
      }
      if (it.value !== undefined) c.dataset.value = String(it.value ?? '');
      return c;
    }),
  );
}
