// SPDX-License-Identifier: MIT
// Sensors: activity and cost per sensor, region and exposure; what a dollar buys. Every sensor with events
// is a row (Dionaea, Suricata, MHN, ... too), events without one are "(no sensor)", so the rows add up; what
// is not known (region, exposure, cost) is explained with the config that makes it known.

import { getJSON, rowsOf } from '../api.js';
import { chartBox, columns } from '../charts.js';
import { card, fmtInt, fmtNum, h, replace } from '../dom.js';
import { table } from '../table.js';
import { grid, viewHead } from './common.js';
import { configBlock } from './map.js';

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
const UNKNOWN = '(unknown)';

/** "a, b, c and 4 more" */
function listNames(names, n = 5) {
  return names.slice(0, n).join(', ') + (names.length > n ? ` and ${fmtInt(names.length - n)} more` : '');
}

function para(...children) {
  return h('p', null, ...children); // spaced by app.css (.sensor-notes p)
}

/** What "(unknown)", "—" and "(no sensor)" mean here, and the config that fills them in (the API's `notes`). */
export function sensorNotes(notes, sensorCount) {
  const n = notes || {};
  const out = [];
  const noRegion = n.no_region || [];
  const noExposure = n.no_exposure || [];
  const noCost = n.no_cost || [];
  if (noRegion.length || noExposure.length) {
    out.push(
      para(
        h('b', null, `${UNKNOWN} `),
        'region or exposure: not known, because the logs do not carry it (Dionaea, Suricata, Cowrie, MHN, ... write no region, and only honeyfarm sensors stamp one on their events). ',
        noRegion.length ? `No region: ${listNames(noRegion)}. ` : '',
        noExposure.length ? `No exposure: ${listNames(noExposure)}. ` : '',
        'Set them under [fleet.sensors."<name>"] in the config.',
      ),
    );
  }
  if (noCost.length) {
    out.push(
      para(
        h('b', null, '— '),
        `in the cost and per-dollar columns: no hourly_cost for ${noCost.length === sensorCount ? 'any sensor' : `${fmtInt(noCost.length)} of ${fmtInt(sensorCount)} sensors`} (${listNames(noCost)}).`,
      ),
    );
  }
  if (n.no_sensor_events) {
    out.push(
      para(
        h('b', null, '(no sensor) '),
        `${fmtInt(n.no_sensor_events)} events name no sensor: their logs carry none (Dionaea, Heralding, VPC Flow, Route 53 ...). Map their files, S3 keys or log groups to a sensor in [fleet] to name it; the row keeps the tables adding up to the event count meanwhile.`,
      ),
    );
  }
  if (n.config) {
    out.push(para('Add to the config (example values; one block per sensor):'), configBlock(n.config));
  }
  if (!out.length) return null;
  return h('div', { class: 'sensor-notes', 'data-testid': 'sensor-notes' }, out);
}

/** A chart of a per-dollar measure by region or exposure, or why there is none ("0 (unknown)" tells nothing). */
async function perDollar(el, rows, key, metric, valueName, ctx, what) {
  const known = rows.filter((r) => r[key] !== UNKNOWN && r[metric] !== null && r[metric] !== undefined);
  if (!known.length) {
    const unknownRow = rows.find((r) => r[key] === UNKNOWN);
    const why = !rows.length
      ? 'No sensors for these filters.'
      : `No ${what} has a known ${key} and hourly cost, so there is no ${valueName} to compare${unknownRow ? ` (${fmtInt(unknownRow.events)} events of unknown ${key})` : ''}. Give sensors a${key === 'exposure' ? 'n' : ''} ${key} and an hourly_cost under [fleet.sensors."<name>"] (see the notes below).`;
    const box = h('div', { class: 'empty', 'data-testid': `explain-${key}` }, why);
    el.replaceWith(box);
    return box;
  }
  const items = known.map((r) => ({ label: r[key], value: Number(r[metric]), key: r[key] }));
  await columns(el, items, { valueName, fmt: fmtNum, colors: true, onPick: (x) => ctx.addFilter(key, x.key) });
  return el;
}

export default {
  title: 'Sensors',
  mount(root) {
    const regionSlot = h('div');
    const exposureSlot = h('div');
    const notesEl = h('div');
    const sensorsEl = h('div');
    const regionsEl = h('div');
    const exposuresEl = h('div');
    root.append(
      viewHead('Sensors & cost', 'Every sensor with events, whatever its source. Per-dollar columns divide by the cost of the hours each sensor ran (— when its hourly cost is unknown or zero).'),
      grid('cols-1-1', card('Events per dollar, by region', regionSlot, { sub: 'click to filter' }), card('Downloads per dollar, by exposure', exposureSlot, { sub: 'click to filter' })),
      grid('cols-1', card('Sensors', h('div', null, sensorsEl, notesEl))),
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
          { key: 'region', label: 'Region', pick: (r) => ctx.addFilter('region', r.region) },
          { key: 'exposure', label: 'Exposure', pick: (r) => ctx.addFilter('exposure', r.exposure) },
        ];
        const sensorCols = [...sensorFirst, ...cols(null).slice(1)];
        replace(sensorsEl, table('sensors', sensorCols, sensors, { estimated: ans.estimated }));
        const named = sensors.filter((r) => r.sensor !== '(no sensor)').length;
        replace(notesEl, sensorNotes(ans.sensors.notes, named));
        replace(regionsEl, table('sensor-regions', cols({ key: 'region', label: 'Region', pick: (r) => ctx.addFilter('region', r.region) }).filter((c) => c.key !== 'hourly_cost'), regions, { estimated: ans.estimated }));
        replace(exposuresEl, table('sensor-exposures', cols({ key: 'exposure', label: 'Exposure', pick: (r) => ctx.addFilter('exposure', r.exposure) }).filter((c) => c.key !== 'hourly_cost'), exposures, { estimated: ans.estimated }));
        const regionChart = chartBox('events-per-dollar-region', 'h-260');
        const exposureChart = chartBox('downloads-per-dollar-exposure', 'h-260');
        replace(regionSlot, regionChart);
        replace(exposureSlot, exposureChart);
        await Promise.all([
          perDollar(regionChart, regions, 'region', 'events_per_dollar', 'events per $', ctx, 'region'),
          perDollar(exposureChart, exposures, 'exposure', 'downloads_per_dollar', 'downloads per $', ctx, 'exposure'),
        ]);
      },
    };
  },
};
