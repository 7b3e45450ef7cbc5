// SPDX-License-Identifier: MIT
// ECharts glue: one dark theme, canvas rendering, tooltips drawn on the canvas
// (renderMode 'richText': no HTML is ever built from data), resizing, and the
// data-points attribute the tests read.

import { cap, esc, fmtCompact, fmtInt, fmtTs, parseTs } from './dom.js';

const ec = () => {
  if (!window.echarts) throw new Error('ECharts is not loaded (run `make web`)');
  return window.echarts;
};

export const PALETTE = [
  '#4fb3d9', '#f0a35e', '#7bc96f', '#d672a5', '#a48cf0', '#e5d16a', '#5fd4b4', '#ef7b6c', '#8fa6c9', '#c9a27e',
  '#63c2ff', '#b3e06c',
];
const TEXT = '#aab4c3';
const MUTED = '#6b7686';
const LINE = '#2a3240';
const FONT = 'Inter, system-ui, sans-serif';

let themed = false;
function theme() {
  if (themed) return;
  themed = true;
  const axis = {
    axisLine: { lineStyle: { color: LINE } },
    axisTick: { lineStyle: { color: LINE } },
    axisLabel: { color: TEXT, fontFamily: FONT, fontSize: 11 },
    splitLine: { lineStyle: { color: '#1d2430' } },
    nameTextStyle: { color: MUTED },
  };
  ec().registerTheme('honeyfarm', {
    color: PALETTE,
    backgroundColor: 'transparent',
    textStyle: { fontFamily: FONT, color: TEXT },
    title: { textStyle: { color: '#dde3ea', fontFamily: FONT, fontWeight: 600, fontSize: 13 } },
    legend: { textStyle: { color: TEXT, fontFamily: FONT }, pageTextStyle: { color: TEXT } },
    categoryAxis: axis,
    valueAxis: axis,
    timeAxis: axis,
    tooltip: {
      renderMode: 'richText',
      backgroundColor: '#0b0f15',
      borderColor: '#3a4556',
      textStyle: { color: '#e4e9f0', fontFamily: FONT, fontSize: 12 },
    },
    visualMap: { textStyle: { color: TEXT } },
  });
}

/**
 * Data text for a chart (labels, names, tooltips): hidden and bidi characters as
 * escapes (dom.js esc), at most n characters, and a zero-width space after a "{"
 * that would start "{style|text}" rich-text markup (it is drawn as text either way).
 */
export function rt(s, n = 120) {
  if (s === null || s === undefined) return '';
  return cap(esc(s), n).replace(/\{(?=[A-Za-z0-9_]*\|)/g, '{\u200b');
}

/** Shorten for an axis label. */
export function short(s, n = 28) {
  const t = s === null || s === undefined ? '∅' : String(s);
  return cap(t, n);
}

/** Data text for a tooltip (drawn inside the chart's canvas): escaped, capped, folded every 40 characters. */
export function tipText(s) {
  return (rt(s, 160).match(/.{1,40}/gsu) || ['']).join('\n');
}

const registry = new Map();
let observer = null;

export function chart(el) {
  theme();
  let c = registry.get(el);
  if (c && !c.isDisposed()) return c;
  c = ec().init(el, 'honeyfarm', { renderer: 'canvas' });
  registry.set(el, c);
  if (!observer) {
    observer = new ResizeObserver((entries) => {
      for (const e of entries) {
        const inst = registry.get(e.target);
        if (inst && !inst.isDisposed()) inst.resize();
      }
    });
  }
  observer.observe(el);
  return c;
}

export function disposeWithin(root) {
  for (const [el, c] of registry) {
    if (root.contains(el) || !el.isConnected) {
      if (observer) observer.unobserve(el);
      if (!c.isDisposed()) c.dispose();
      registry.delete(el);
    }
  }
}

/** A chart container element (class "chart"). */
export function chartBox(name, extraClass) {
  const el = document.createElement('div');
  el.className = `chart ${extraClass || ''}`.trim();
  el.dataset.chart = name;
  return el;
}

/**
 * Set the option, count the plotted points into data-points, and resolve
 * once ECharts has finished rendering (or after a short time with effects running).
 */
export function draw(el, option, points, handlers) {
  const c = chart(el);
  c.off('click');
  c.setOption({ animationDuration: 350, animationDurationUpdate: 250, ...option }, { notMerge: true });
  if (handlers && handlers.click) c.on('click', handlers.click);
  el.dataset.points = String(points);
  el.classList.toggle('is-empty', points === 0);
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      c.off('finished', finish);
      resolve(c);
    };
    c.on('finished', finish);
    setTimeout(finish, 900);
  });
}

function tip(extra) {
  return { trigger: 'item', renderMode: 'richText', confine: true, ...extra };
}

/**
 * Horizontal bar chart of the top values (biggest on top).
 * items: [{label, value, key}], onPick(item) makes bars clickable.
 */
export function bars(el, items, opts = {}) {
  const list = items.slice().reverse();
  const labels = list.map((i) => short(rt(i.label), opts.labelWidth || 26));
  const option = {
    grid: { left: 8, right: 48, top: 6, bottom: 6, containLabel: true },
    xAxis: { type: 'value', axisLabel: { formatter: (v) => fmtCompact(v) }, splitNumber: 3 },
    yAxis: {
      type: 'category',
      data: labels,
      axisTick: { show: false },
      axisLabel: { fontFamily: opts.mono ? 'ui-monospace, SFMono-Regular, Menlo, monospace' : FONT },
    },
    tooltip: tip({
      formatter: (p) => {
        const it = list[p.dataIndex];
        return `${tipText(it.label)}\n${opts.valueName || 'events'}: ${fmtInt(it.value)}${it.note ? `\n${tipText(it.note)}` : ''}`;
      },
    }),
    series: [
      {
        type: 'bar',
        data: list.map((i) => i.value),
        barMaxWidth: 16,
        itemStyle: { color: opts.color || PALETTE[0], borderRadius: [0, 2, 2, 0] },
        emphasis: { itemStyle: { color: '#ffd479' } },
        label: { show: true, position: 'right', color: MUTED, fontSize: 10, formatter: (p) => fmtCompact(p.value) },
        cursor: opts.onPick ? 'pointer' : 'default',
      },
    ],
  };
  return draw(el, option, list.length, opts.onPick ? { click: (p) => p.componentType === 'series' && opts.onPick(list[p.dataIndex]) } : null);
}

/** Vertical bar chart (categories along x). */
export function columns(el, items, opts = {}) {
  const option = {
    grid: { left: 8, right: 12, top: 14, bottom: 6, containLabel: true },
    xAxis: { type: 'category', data: items.map((i) => short(rt(i.label), 18)), axisLabel: { interval: 0, rotate: items.length > 6 ? 30 : 0 } },
    yAxis: { type: 'value', axisLabel: { formatter: (v) => fmtCompact(v) }, splitNumber: 4 },
    tooltip: tip({ formatter: (p) => `${tipText(items[p.dataIndex].label)}\n${opts.valueName || 'value'}: ${opts.fmt ? opts.fmt(items[p.dataIndex].value) : fmtInt(items[p.dataIndex].value)}` }),
    series: [
      {
        type: 'bar',
        data: items.map((i, n) => ({ value: i.value, itemStyle: { color: opts.colors ? PALETTE[n % PALETTE.length] : opts.color || PALETTE[0] } })),
        barMaxWidth: 36,
        cursor: opts.onPick ? 'pointer' : 'default',
        label: { show: true, position: 'top', color: MUTED, fontSize: 10, formatter: (p) => (opts.fmt ? opts.fmt(p.value) : fmtCompact(p.value)) },
      },
    ],
  };
  return draw(el, option, items.length, opts.onPick ? { click: (p) => p.componentType === 'series' && opts.onPick(items[p.dataIndex]) } : null);
}

/** Donut of shares. items: [{label, value, key}]. */
export function donut(el, items, opts = {}) {
  const option = {
    tooltip: tip({ formatter: (p) => `${tipText(items[p.dataIndex].label)}\n${fmtInt(p.value)} (${p.percent}%)` }),
    legend: { type: 'scroll', orient: 'vertical', right: 4, top: 'middle', textStyle: { color: TEXT, fontSize: 11 }, formatter: (n) => short(n, 18) },
    series: [
      {
        type: 'pie',
        radius: ['48%', '74%'],
        center: ['36%', '50%'],
        avoidLabelOverlap: true,
        label: { show: false },
        itemStyle: { borderColor: '#141a23', borderWidth: 2 },
        data: items.map((i) => ({ name: rt(i.label), value: i.value })),
        cursor: opts.onPick ? 'pointer' : 'default',
      },
    ],
  };
  return draw(el, option, items.length, opts.onPick ? { click: (p) => p.componentType === 'series' && opts.onPick(items[p.dataIndex]) } : null);
}

// ------------------------------------------------------------------ time series
const STEP_MS = { hour: 3600e3, day: 86400e3 };
export const PARTIAL_TIP = 'partial: bucket still filling';

/**
 * The buckets of a time series answer, with a gap after every run of buckets: when the next bucket with
 * events is more than one step away, one null bucket goes in between, so ECharts (connectNulls off) draws a
 * gap, not a line (or a triangle of zeros) from one distant point to the next. One null per gap, not one per
 * empty bucket: an hourly series over years of sparse logs stays as small as its data.
 * Returns {stamps, names, values: Map(name -> array), totals, gaps, partial, hasSeries, step}; partial is the
 * index of the last bucket when the current time falls inside it (its count is still growing), else -1.
 */
export function seriesBuckets(answer, bucket, now = Date.now()) {
  const rows = (answer.rows || []).map((r) => {
    const o = {};
    (answer.columns || []).forEach((c, i) => {
      o[c] = r[i];
    });
    return o;
  });
  const hasSeries = (answer.columns || []).includes('series');
  const step = STEP_MS[answer.bucket || bucket] || 0;
  const have = new Set();
  for (const r of rows) {
    const d = parseTs(r.bucket);
    if (d) have.add(d.getTime());
  }
  const present = [...have].sort((a, b) => a - b);
  const stamps = [];
  let gaps = 0;
  present.forEach((t, i) => {
    stamps.push(t);
    if (step && i + 1 < present.length && present[i + 1] > t + step) {
      stamps.push(t + step); // the first empty bucket: a null breaks the line there
      gaps++;
    }
  });
  const index = new Map(stamps.map((t, i) => [t, i]));
  const names = [];
  const values = new Map();
  const totals = new Map();
  for (const r of rows) {
    const d = parseTs(r.bucket);
    if (!d) continue;
    const name = hasSeries ? (r.series === null || r.series === undefined ? 'unknown' : String(r.series)) : 'events';
    if (!values.has(name)) {
      names.push(name);
      values.set(name, new Array(stamps.length).fill(null));
      totals.set(name, 0);
    }
    const n = Number(r.events) || 0;
    const arr = values.get(name);
    arr[index.get(d.getTime())] = (arr[index.get(d.getTime())] || 0) + n;
    totals.set(name, totals.get(name) + n);
  }
  // within a bucket that had events, a series without any is 0 (so stacks stay whole); only empty buckets are gaps
  for (let i = 0; i < stamps.length; i++) {
    if (!have.has(stamps[i])) continue;
    for (const arr of values.values()) if (arr[i] === null) arr[i] = 0;
  }
  const last = stamps.length - 1;
  const partial = step && last >= 0 && stamps[last] <= now && now < stamps[last] + step ? last : -1;
  return { stamps, names, values, totals, gaps, partial, hasSeries, step };
}

const TIME_SERIES_TIP = {
  trigger: 'axis',
  renderMode: 'richText',
  confine: true,
  axisPointer: { type: 'line', lineStyle: { color: '#4b5668' } },
};

/**
 * Events over time. answer: timeline table (bucket, events) or (bucket, series, events), with "bucket"
 * (hour|day) beside it. Empty buckets are gaps; the current, still filling bucket is shaded with a dashed
 * border, labelled "partial", drawn lighter, and says so in the tooltip.
 * opts: {kind: 'area'|'bar', stack: bool, onSeries(name), bucket, zoom, now}
 * The container gets data-gaps (empty buckets) and data-partial (the partial bucket's ISO time).
 */
export function timeSeries(el, answer, opts = {}) {
  const b = seriesBuckets(answer, opts.bucket, opts.now);
  const { stamps, values, totals, partial } = b;
  const names = b.names.slice();
  // biggest series at the bottom of the stack; "other" last
  names.sort((x, y) => (x === 'other') - (y === 'other') || totals.get(y) - totals.get(x));
  const kind = opts.kind || 'area';
  const isolated = (arr, j) => Boolean(arr[j]) && (j === 0 || arr[j - 1] === null) && (j === arr.length - 1 || arr[j + 1] === null);
  const series = names.map((name, i) => {
    const arr = values.get(name);
    const color = name === 'other' ? '#5b6575' : PALETTE[i % PALETTE.length];
    return {
      name: rt(name),
      type: kind === 'bar' ? 'bar' : 'line',
      stack: opts.stack === false ? undefined : 'all',
      smooth: false,
      connectNulls: false,
      triggerLineEvent: true,
      // a point between two gaps has no line to show it: it gets a dot
      showSymbol: kind !== 'bar',
      symbol: 'circle',
      symbolSize: (v, p) => (p && (isolated(arr, p.dataIndex) || p.dataIndex === partial) ? 5 : 0),
      lineStyle: { width: 1.2 },
      areaStyle: kind === 'bar' ? undefined : { opacity: names.length > 1 ? 0.55 : 0.35 },
      barMaxWidth: 18,
      emphasis: { focus: 'series' },
      color,
      data: stamps.map((t, j) =>
        j === partial
          ? { value: [t, arr[j]], itemStyle: { opacity: 0.45, borderColor: color, borderType: 'dashed', borderWidth: 1 } }
          : [t, arr[j]],
      ),
      cursor: opts.onSeries ? 'pointer' : 'default',
    };
  });
  if (partial >= 0 && series.length) {
    series[0].markArea = {
      silent: true,
      itemStyle: { color: 'rgba(240, 192, 90, 0.07)', borderColor: '#8a7a4a', borderType: 'dashed', borderWidth: 1 },
      label: { show: true, position: 'insideTop', color: '#c9b57a', fontSize: 10, formatter: 'partial' },
      data: [[{ xAxis: stamps[partial] }, { xAxis: stamps[partial] + b.step }]],
    };
  }
  const multi = names.length > 1 || b.hasSeries;
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
        const j = list[0].dataIndex;
        if (stamps[j] !== undefined && list.every((p) => p.value[1] === null)) lines.push('no events');
        if (j === partial) lines.push(PARTIAL_TIP);
        return [head, ...lines].join('\n');
      },
    },
    dataZoom: opts.zoom ? [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 6, borderColor: '#2a3240', textStyle: { color: '#6b7686' } }] : undefined,
    series,
  };
  let points = 0;
  for (const s of series) points += s.data.length;
  el.dataset.gaps = String(b.gaps);
  if (partial >= 0) el.dataset.partial = new Date(stamps[partial]).toISOString();
  else delete el.dataset.partial;
  const handlers = opts.onSeries
    ? {
        click: (p) => {
          if (p.componentType === 'series' && b.hasSeries) opts.onSeries(names[p.seriesIndex]);
        },
      }
    : null;
  return draw(el, option, points, handlers);
}

// ------------------------------------------------------------------ world map
let worldPromise = null;
export const WORLD = { byIso: new Map() };

/** Load and register the world map once ("world", nameProperty iso2). */
export function loadWorld() {
  if (!worldPromise) {
    worldPromise = fetch('/static/vendor/world.geo.json', { credentials: 'same-origin' })
      .then((r) => {
        if (!r.ok) throw new Error(`world map: ${r.status} (run \`make web\`)`);
        return r.json();
      })
      .then((geo) => {
        for (const f of geo.features) WORLD.byIso.set(f.properties.iso2, f.properties);
        ec().registerMap('world', geo);
        return WORLD;
      });
    worldPromise.catch(() => {
      worldPromise = null;
    });
  }
  return worldPromise;
}

export function countryName(code, fallback) {
  const p = WORLD.byIso.get(code);
  return (p && p.name) || fallback || code || '??';
}

export function centroid(code) {
  const p = WORLD.byIso.get(code);
  return p ? p.centroid : null;
}

export const GEO = {
  map: 'world',
  nameProperty: 'iso2',
  roam: true,
  scaleLimit: { min: 1, max: 12 },
  boundingCoords: [
    [-180, 84],
    [180, -58],
  ],
  itemStyle: { areaColor: '#1b2330', borderColor: '#2f3a4b', borderWidth: 0.6 },
  emphasis: { label: { show: false }, itemStyle: { areaColor: '#ffd479' } },
  select: { disabled: true },
  label: { show: false },
};

export const HEAT = ['#1f3550', '#25607f', '#2d8aa6', '#57b5c4', '#f0c05a', '#f08a4b', '#e8505b'];
