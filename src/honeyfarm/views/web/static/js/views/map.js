// SPDX-License-Identifier: MIT
// Map: countries coloured by events (legend with the bins' counts), sensors as points, arcs source country ->
// sensor; sensors the map cannot place are listed with the config that would place them.

import { getJSON, rowsOf } from '../api.js';
import { GEO, HEAT, WORLD, centroid, chartBox, countryName, draw, loadWorld, rt } from '../charts.js';
import { card, fmtCompact, fmtInt, h, replace } from '../dom.js';
import { table } from '../table.js';
import { grid, viewHead } from './common.js';

/**
 * The colour scale's bins for a busiest country of `max` events: decades (1-9, 10-99, ...) from 100 events up,
 * else up to five equal steps; at most one bin per HEAT colour but the first (the lowest merged).
 * [{min, max, color, label}]
 */
export function heatBins(max) {
  const top = Math.max(1, Math.ceil(Number(max) || 0));
  const lows = [];
  if (top >= 100) {
    for (let v = 1; v <= top; v *= 10) lows.push(v);
  } else {
    const step = Math.max(1, Math.ceil(top / 5));
    for (let v = 1; v <= top; v += step) lows.push(v);
  }
  while (lows.length > HEAT.length - 1) lows.splice(1, 1);
  const num = (n) => (n >= 1e4 ? fmtCompact(n) : fmtInt(n));
  return lows.map((lo, i) => {
    const hi = i + 1 < lows.length ? lows[i + 1] - 1 : top;
    // HEAT[0] is too close to a country without events: the lowest bin starts at HEAT[1]
    const color = HEAT[1 + Math.round((i * (HEAT.length - 2)) / Math.max(1, lows.length - 1))];
    return { min: lo, max: hi, color, label: lo === hi ? num(lo) : `${num(lo)}–${num(hi)}` };
  });
}

/** The legend as HTML (the canvas legend cannot be read by a screen reader or a test): swatch and range per bin. */
export function heatLegend(bins) {
  const items = bins.map((b) => {
    const sw = h('span', { class: 'legend-swatch', 'aria-hidden': 'true' });
    // the bin's colour is data, so it is the one value set here (a custom property through the CSSOM:
    // the CSP forbids style attributes); the look is app.css's .legend-swatch
    sw.style.setProperty('--swatch', b.color);
    return h('li', { 'data-min': String(b.min), 'data-max': String(b.max) }, sw, b.label);
  });
  const list = h('ul', { class: 'map-legend-bins' }, items);
  return h('div', { class: 'map-legend', 'data-testid': 'map-legend' }, h('span', { class: 'card-sub' }, 'Events per country: '), list);
}

/** The world map option shared by the map and live views. */
export function worldOption(countries, sensors, arcs, opts = {}) {
  const bins = heatBins(Math.max(0, ...countries.map((c) => Number(c.events) || 0)));
  const seen = new Set(countries.map((c) => c.country));
  const quiet = [...WORLD.byIso.keys()].filter((k) => !seen.has(k)).map((k) => ({ name: k, value: 0 }));
  const maxArc = Math.max(1, ...arcs.map((a) => Number(a.events) || 0));
  const maxSensor = Math.max(1, ...sensors.map((s) => Number(s.events) || 0));
  const sensorAt = new Map(sensors.filter((s) => s.lat !== null && s.lon !== null).map((s) => [s.sensor, [Number(s.lon), Number(s.lat)]]));
  const lineData = [];
  for (const a of arcs) {
    const from = centroid(a.country);
    const to = sensorAt.get(a.sensor);
    if (!from || !to) continue;
    lineData.push({ coords: [from, to], value: a.events, country: a.country, sensor: a.sensor, lineStyle: { width: 0.4 + 1.6 * Math.sqrt((Number(a.events) || 0) / maxArc) } });
  }
  const scatter = [...sensorAt.entries()].map(([name, pos]) => {
    const s = sensors.find((x) => x.sensor === name);
    return { name: rt(name, 40), value: [...pos, Number(s.events) || 0], sensor: s };
  });
  const option = {
    geo: { ...GEO, ...(opts.geo || {}) },
    visualMap: {
      type: 'piecewise',
      seriesIndex: 0,
      // countries without events are given 0 (the land colour): left out, ECharts paints them in the palette's first
      pieces: [{ min: 0, max: 0.5, color: GEO.itemStyle.areaColor }, ...bins.map((b) => ({ min: b.min, max: b.max + 0.5, color: b.color }))],
      outOfRange: { color: '#1b2330' },
      show: false, // the legend is HTML (heatLegend), with each bin's numbers
    },
    tooltip: {
      trigger: 'item',
      renderMode: 'richText',
      confine: true,
      formatter: (p) => {
        if (p.seriesType === 'map' || p.componentType === 'geo') {
          const c = countries.find((x) => x.country === p.name);
          const name = countryName(p.name, c && c.name);
          return c ? `${rt(name)} (${p.name})\nevents: ${fmtInt(c.events)}\nunique IPs: ${fmtInt(c.unique_ips)}` : `${rt(name)}\nno events`;
        }
        if (p.seriesType === 'lines') return `${rt(countryName(p.data.country))} → ${rt(p.data.sensor)}\nevents: ${fmtInt(p.data.value)}`;
        if (p.seriesType === 'effectScatter' || p.seriesType === 'scatter') {
          const s = p.data.sensor || {};
          return `sensor ${rt(s.sensor)}${s.region ? `\nregion ${rt(s.region)}` : ''}\nevents: ${fmtInt(s.events)}`;
        }
        return '';
      },
    },
    series: [
      {
        type: 'map',
        geoIndex: 0,
        data: [...countries.map((c) => ({ name: c.country, value: Number(c.events) || 0 })), ...quiet],
      },
      {
        type: 'lines',
        coordinateSystem: 'geo',
        zlevel: 1,
        effect: { show: true, period: 6, trailLength: 0.1, symbol: 'circle', symbolSize: 2.5, color: '#ffe2a8' },
        lineStyle: { color: '#f5b35c', opacity: 0.28, curveness: 0.25 },
        data: lineData,
        silent: true, // clicks go to the countries underneath
      },
      {
        type: 'effectScatter',
        coordinateSystem: 'geo',
        zlevel: 2,
        rippleEffect: { brushType: 'stroke', scale: 3, period: 3 },
        symbolSize: (v) => 7 + 9 * Math.sqrt(v[2] / maxSensor),
        itemStyle: { color: '#ffd479', shadowBlur: 8, shadowColor: '#ffd479' },
        label: { show: opts.labels !== false, position: 'right', color: '#e8edf3', fontSize: 10, formatter: (p) => p.name },
        data: scatter,
      },
    ],
  };
  return { option, bins, points: countries.length + lineData.length + scatter.length };
}

export function countryClick(ctx) {
  return (p) => {
    if ((p.componentType === 'series' && p.seriesType === 'map') || p.componentType === 'geo') {
      if (p.name && /^[A-Z]{2}$/.test(p.name)) ctx.addFilter('country', p.name);
    } else if (p.seriesType === 'effectScatter' && p.data && p.data.sensor) {
      ctx.addFilter('sensor', p.data.sensor.sensor);
    }
  };
}

export default {
  title: 'Map',
  mount(root) {
    const mapEl = chartBox('world', 'h-map');
    const legendEl = h('div');
    const listEl = h('div', { class: 'scroll-y' });
    const sensorsEl = h('div');
    const unplacedEl = h('div', { 'data-testid': 'map-unplaced' });
    root.append(
      viewHead('Attack map', 'Source countries by events; arcs run from the source country to the sensor that was hit. Click a country or a sensor to filter; drag and scroll to zoom.'),
      grid('cols-3-1', card('World', h('div', null, mapEl, legendEl), { class: 'map-card' }), h('div', { class: 'stack' }, card('Countries', listEl, { class: 'fill' }), card('Sensors', h('div', null, sensorsEl, unplacedEl)))),
    );
    return {
      async load(ctx, signal) {
        const [ans] = await Promise.all([getJSON('map', ctx.api, signal), loadWorld()]);
        const countries = rowsOf(ans.countries);
        const sensors = rowsOf(ans.sensors);
        const arcs = rowsOf(ans.arcs);
        replace(
          listEl,
          table(
            'map-countries',
            [
              { key: 'country', label: 'Country', kind: 'country', pick: (r) => ctx.addFilter('country', r.country) },
              { key: 'events', label: 'Events', kind: 'int' },
              { key: 'unique_ips', label: 'IPs', kind: 'int' },
            ],
            countries,
          ),
        );
        replace(
          sensorsEl,
          table(
            'map-sensors',
            [
              { key: 'sensor', label: 'Sensor', pick: (r) => ctx.addFilter('sensor', r.sensor) },
              { key: 'events', label: 'Events', kind: 'int' },
            ],
            sensors,
          ),
        );
        replace(unplacedEl, unplacedNote(ans.sensors.unplaced || {}));
        const { option, bins, points } = worldOption(countries, sensors, arcs);
        replace(legendEl, countries.length ? heatLegend(bins) : null);
        await draw(mapEl, option, points, { click: countryClick(ctx) });
      },
    };
  },
};

/** Why some sensors are not on the map, and the config that places them (the API's `unplaced`). */
export function unplacedNote(u) {
  const names = u.sensors || [];
  const parts = [];
  if (names.length) {
    const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? ` and ${fmtInt(names.length - 5)} more` : '');
    parts.push(
      h(
        'p',
        null,
        `${fmtInt(names.length)} sensor${names.length === 1 ? ' has' : 's have'} no map position (${fmtInt(u.events)} events, no arcs): ${shown}. `,
        'Give each a known cloud region, or lat and lon, in the config:',
      ),
    );
    if (u.config) parts.push(configBlock(u.config));
  }
  if (u.no_sensor_events) {
    parts.push(h('p', null, `${fmtInt(u.no_sensor_events)} events name no sensor ("(no sensor)"): map their log files to a sensor in [fleet] to place them.`));
  }
  if (!parts.length) return null;
  return h('div', { class: 'map-note' }, parts);
}

/** A config snippet as preformatted text: a text node per line (sensor names are data, escaped by h()). */
export function configBlock(text) {
  const lines = String(text).split('\n');
  return h('pre', { class: 'config-hint', 'data-testid': 'config-hint' }, lines.map((l, i) => (i ? [h('br'), l] : l)));
}
