// SPDX-License-Identifier: MIT
// Sensors: activity and cost per sensor, region and exposure; what a dollar buys.

import { getJSON, rowsOf } from '../api.js';
import { chartBox, columns } from '../charts.js';
import { card, fmtNum, h, replace } from '../dom.js';
import { table } from '../table.js';
import { grid, viewHead } from './common.js';

const METRICS = [
  { key: 'events', label: 'Events', kind: 'int' },
  { key: 'sessions', label: 'Sessions', kind: 'int' },
  { key: 'unique_ips', label: 'IPs', kind: 'int' },
  { key: 'logins', label: 'Logins', kind: 'int' },
  { key: 'successes', label: 'Succ.', kind: 'int', title: 'Successful logins' },
  { key: 'commands', label: 'Cmds', kind: 'int', title: 'Commands' },
  { key: 'downloads', label: 'Downl.', kind: 'int', title: 'Downloads' },
  { key: 'hourly_cost', label: '$/h', kind: 'usd4', title: 'Hourly cost (USD)' },
  { key: 'hours', label: 'Hours', kind: 'num', title: 'Hours of operation counted' },
  { key: 'cost', label: 'Cost', kind: 'usd', title: 'Cost over the period (USD)' },
  { key: 'events_per_dollar', label: 'Events/$', kind: 'int', class: 'hl' },
  { key: 'unique_ips_per_dollar', label: 'IPs/$', kind: 'num', class: 'hl' },
  { key: 'downloads_per_dollar', label: 'Downl./$', kind: 'num', class: 'hl' },
];

export default {
  title: 'Sensors',
  mount(root) {
    const regionChart = chartBox('events-per-dollar-region', 'h-260');
    const exposureChart = chartBox('downloads-per-dollar-exposure', 'h-260');
    const sensorsEl = h('div');
    const regionsEl = h('div');
    const exposuresEl = h('div');
    root.append(
      viewHead('Sensors & cost', 'Per-dollar columns divide by the cost of the hours each sensor ran (— when its hourly cost is unknown or zero).'),
      grid('cols-1-1', card('Events per dollar, by region', regionChart, { sub: 'click to filter' }), card('Downloads per dollar, by exposure', exposureChart, { sub: 'click to filter' })),
      grid('cols-1', card('Sensors', sensorsEl)),
      grid('cols-1', card('Regions', regionsEl)),
      grid('cols-1', card('Exposures', exposuresEl)),
    );
    return {
      async load(ctx, signal) {
        const ans = await getJSON('sensors', ctx.api, signal);
        const sensors = rowsOf(ans.sensors);
        const regions = rowsOf(ans.regions);
        const exposures = rowsOf(ans.exposures);
        const cols = (first) => [first, ...METRICS.filter((m) => (ans.sensors.columns || []).includes(m.key) || m.key in (sensors[0] || regions[0] || {}))];
        const sensorFirst = [
          { key: 'sensor', label: 'Sensor', pick: (r) => ctx.addFilter('sensor', r.sensor) },
          ...(sensors.some((r) => r.region) ? [{ key: 'region', label: 'Region', pick: (r) => ctx.addFilter('region', r.region) }] : []),
          ...(sensors.some((r) => r.exposure) ? [{ key: 'exposure', label: 'Exposure', pick: (r) => ctx.addFilter('exposure', r.exposure) }] : []),
        ];
        const sensorCols = [...sensorFirst, ...cols(null).slice(1)];
        replace(sensorsEl, table('sensors', sensorCols, sensors));
        replace(regionsEl, table('sensor-regions', cols({ key: 'region', label: 'Region', pick: (r) => ctx.addFilter('region', r.region) }).filter((c) => c.key !== 'hourly_cost'), regions));
        replace(exposuresEl, table('sensor-exposures', cols({ key: 'exposure', label: 'Exposure', pick: (r) => ctx.addFilter('exposure', r.exposure) }).filter((c) => c.key !== 'hourly_cost'), exposures));
        const it = (rows, key, metric) =>
          rows.map((r) => ({ label: r[key] ?? '∅', value: r[metric] === null || r[metric] === undefined ? 0 : Number(r[metric]), key: r[key] }));
        await Promise.all([
          columns(regionChart, it(regions, 'region', 'events_per_dollar'), { valueName: 'events per $', fmt: fmtNum, colors: true, onPick: (x) => ctx.addFilter('region', x.key) }),
          columns(exposureChart, it(exposures, 'exposure', 'downloads_per_dollar'), { valueName: 'downloads per $', fmt: fmtNum, colors: true, onPick: (x) => ctx.addFilter('exposure', x.key) }),
        ]);
      },
    };
  },
};
