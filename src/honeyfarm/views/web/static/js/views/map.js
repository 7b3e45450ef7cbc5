// SPDX-License-Identifier: MIT
// Map: countries coloured by events, sensors as points, arcs source country -> sensor.

import { getJSON, rowsOf } from '../api.js';
import { GEO, HEAT, centroid, chartBox, countryName, draw, loadWorld, rt } from '../charts.js';
import { card, fmtCompact, fmtInt, h, replace } from '../dom.js';
import { table } from '../table.js';
import { grid, viewHead } from './common.js';

/** The world map option shared by the map and live views. */
export function worldOption(countries, sensors, arcs, opts = {}) {
  const maxLog = Math.max(1, ...countries.map((c) => Math.log10((Number(c.events) || 0) + 1)));
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
      type: 'continuous',
      min: 0,
      max: maxLog,
      seriesIndex: 0,
      inRange: { color: HEAT },
      calculable: false,
      left: 12,
      bottom: 12,
      itemHeight: 90,
      itemWidth: 10,
      text: ['events', ''],
      textStyle: { color: '#8b95a5', fontSize: 10 },
      formatter: (v) => fmtCompact(Math.round(10 ** v - 1)),
      show: opts.legend !== false,
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
        data: countries.map((c) => ({ name: c.country, value: Math.log10((Number(c.events) || 0) + 1) })),
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
  return { option, points: countries.length + lineData.length + scatter.length };
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
    const listEl = h('div', { class: 'scroll-y' });
    const sensorsEl = h('div');
    root.append(
      viewHead('Attack map', 'Source countries by events; arcs run from the source country to the sensor that was hit. Click a country or a sensor to filter; drag and scroll to zoom.'),
      grid('cols-3-1', card('World', mapEl, { class: 'map-card' }), h('div', { class: 'stack' }, card('Countries', listEl, { class: 'fill' }), card('Sensors', sensorsEl))),
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
        const { option, points } = worldOption(countries, sensors, arcs);
        await draw(mapEl, option, points, { click: countryClick(ctx) });
      },
    };
  },
};
