// SPDX-License-Identifier: MIT
// Pieces shared by the views.

import { getJSON, rowsOf, withParams } from '../api.js';
import { PALETTE, draw, rt, short } from '../charts.js';
import { fmtCompact, fmtInt, fmtTs, h, parseTs } from '../dom.js';

export function panel(ctx, name, extra, signal) {
  return getJSON(`panels/${name}`, withParams(ctx.api, extra), signal);
}

export function grid(cls, ...children) {
  return h('div', { class: `grid-layout ${cls}` }, ...children);
}

export function viewHead(title, sub, tools) {
  return h('div', { class: 'view-head' }, h('h1', null, title), sub ? h('p', { class: 'view-sub' }, sub) : null, tools ? h('div', { class: 'view-tools' }, tools) : null);
}

const TIME_SERIES_TIP = {
  trigger: 'axis',
  renderMode: 'richText',
  confine: true,
  axisPointer: { type: 'line', lineStyle: { color: '#4b5668' } },
};

/**
 * Events over time. answer: timeline panel table (bucket, events) or (bucket, series, events).
 * opts: {kind: 'area'|'bar', stack: bool, onSeries(name), bucket}
 */
export function timeChart(el, answer, opts = {}) {
  const rows = rowsOf(answer);
  const hasSeries = (answer.columns || []).includes('series');
  let times = [...new Set(rows.map((r) => r.bucket))].sort();
  // empty buckets are zeros, not a straight line across the gap
  const step = (answer.bucket || opts.bucket) === 'day' ? 86400e3 : (answer.bucket || opts.bucket) === 'hour' ? 3600e3 : 0;
  if (step && times.length > 1) {
    const t0 = parseTs(times[0]);
    const t1 = parseTs(times[times.length - 1]);
    if (t0 && t1 && (t1 - t0) / step < 20000) {
      const have = new Map(times.map((t) => [parseTs(t)?.getTime(), t]));
      const all = [];
      for (let t = t0.getTime(); t <= t1.getTime(); t += step) all.push(have.get(t) || new Date(t).toISOString().slice(0, 19));
      for (const t of times) if (!all.includes(t)) all.push(t);
      times = all.sort();
    }
  }
  const index = new Map(times.map((t, i) => [t, i]));
  const seriesNames = [];
  const bySeries = new Map();
  const totals = new Map();
  for (const r of rows) {
    const name = hasSeries ? (r.series === null || r.series === undefined ? 'unknown' : String(r.series)) : 'events';
    if (!bySeries.has(name)) {
      bySeries.set(name, new Array(times.length).fill(0));
      seriesNames.push(name);
      totals.set(name, 0);
    }
    bySeries.get(name)[index.get(r.bucket)] += Number(r.events) || 0;
    totals.set(name, totals.get(name) + (Number(r.events) || 0));
  }
  // biggest series at the bottom of the stack; "other" last
  seriesNames.sort((a, b) => (a === 'other') - (b === 'other') || totals.get(b) - totals.get(a));
  const stamps = times.map((t) => parseTs(t)?.getTime() ?? t);
  const kind = opts.kind || 'area';
  const series = seriesNames.map((name, i) => ({
    name: rt(name),
    type: kind === 'bar' ? 'bar' : 'line',
    stack: opts.stack === false ? undefined : 'all',
    smooth: false,
    triggerLineEvent: true,
    showSymbol: false,
    symbolSize: 4,
    lineStyle: { width: 1.2 },
    areaStyle: kind === 'bar' ? undefined : { opacity: seriesNames.length > 1 ? 0.55 : 0.35 },
    barMaxWidth: 18,
    emphasis: { focus: 'series' },
    color: name === 'other' ? '#5b6575' : PALETTE[i % PALETTE.length],
    data: stamps.map((t, j) => [t, bySeries.get(name)[j]]),
    cursor: opts.onSeries ? 'pointer' : 'default',
  }));
  const multi = seriesNames.length > 1 || hasSeries;
  const option = {
    grid: { left: 8, right: 16, top: multi ? 34 : 12, bottom: opts.zoom ? 44 : 8, containLabel: true },
    legend: multi ? { top: 0, left: 0, type: 'scroll', icon: 'roundRect', itemWidth: 10, itemHeight: 10, formatter: (n) => short(n, 24) } : undefined,
    xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', axisLabel: { formatter: (v) => fmtCompact(v) }, splitNumber: 4 },
    tooltip: {
      ...TIME_SERIES_TIP,
      formatter: (ps) => {
        const list = Array.isArray(ps) ? ps : [ps];
        if (!list.length) return '';
        const t = new Date(list[0].value[0]);
        const head = Number.isNaN(t.getTime()) ? '' : fmtTs(t.toISOString());
        const lines = list.filter((p) => p.value[1]).map((p) => `${short(p.seriesName, 60)}: ${fmtInt(p.value[1])}`);
        return [head, ...lines].join('\n');
      },
    },
    dataZoom: opts.zoom ? [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 6, borderColor: '#2a3240', textStyle: { color: '#6b7686' } }] : undefined,
    series,
  };
  let points = 0;
  for (const s of series) points += s.data.length;
  const handlers = opts.onSeries
    ? {
        click: (p) => {
          if (p.componentType === 'series' && hasSeries) opts.onSeries(seriesNames[p.seriesIndex]);
        },
      }
    : null;
  return draw(el, option, points, handlers);
}

/** Counter cards: [{key, label, value, kind}] */
export function counters(items) {
  return h(
    'div',
    { class: 'counters' },
    items.map((it) => {
      const v = h('div', { class: 'counter-v' }, it.text !== undefined ? it.text : fmtInt(it.value));
      const c = h('div', { class: `counter ${it.class || ''}`.trim() }, h('div', { class: 'counter-k' }, it.label), v, it.sub ? h('div', { class: 'counter-s' }, it.sub) : null);
      c.dataset.counter = it.key;
      if (it.value !== undefined) c.dataset.value = String(it.value ?? '');
      return c;
    }),
  );
}
