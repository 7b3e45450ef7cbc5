// SPDX-License-Identifier: MIT
// Overview: counters, activity, top countries, events per honeypot type, destination ports, per-sensor and
// per-region tables.

import { getJSON, rowsOf, withParams } from '../api.js';
import { bars, chartBox, columns, countryName } from '../charts.js';
import { card, fmtDuration, fmtInt, fmtTs, h, parseTs, replace } from '../dom.js';
import { table } from '../table.js';
import { counters, grid, panel, timeChart, viewHead } from './common.js';

export default {
  title: 'Overview',
  mount(root) {
    const countersEl = h('div', { class: 'counters-slot' });
    const activity = chartBox('activity', 'h-220');
    const countries = chartBox('top-countries', 'h-220');
    const sensorsEl = h('div');
    const typesChart = chartBox('honeypot-types', 'h-260');
    const typesEl = h('div');
    const portsChart = chartBox('dst-ports', 'h-260');
    const portsEl = h('div');
    const portsNote = h('span');
    const regionsEl = h('div');
    root.append(
      viewHead('Overview', 'What the honeypots caught, for the filters above.'),
      countersEl,
      grid('cols-2-1', card('Events over time', activity, { sub: 'per hour' }), card('Top source countries', countries, { sub: 'click a bar to filter' })),
      grid(
        'cols-2',
        card('Events per honeypot type', h('div', null, typesChart, typesEl), { sub: 'type from the eventid; click to filter' }),
        card('Destination ports', h('div', null, portsChart, portsEl), { sub: portsNote }),
      ),
      grid('cols-1', card('Sensors', sensorsEl, { sub: 'click a sensor to filter' })),
      grid('cols-1', card('Regions', regionsEl, { sub: 'click a region to filter' })),
    );

    return {
      async load(ctx, signal) {
        // /api/sensors carries the totals and every sensor's counts: one scan of the sessions
        // rollup serves the whole view (the overview panel would be a second one).
        const [tl, tc, sens, types, ports] = await Promise.all([
          panel(ctx, 'timeline', { bucket: 'hour', by: 'none' }, signal),
          panel(ctx, 'top-countries', { limit: 10 }, signal),
          getJSON('sensors', ctx.api, signal),
          getJSON('overview/honeypots', ctx.api, signal),
          getJSON('overview/ports', withParams(ctx.api, { limit: 10 }), signal),
        ]);
        const typeRows = rowsOf(types);
        // the honeypot filter is the eventid's first part: VPC Flow and Route 53 are both "aws"
        const filterOf = (t) => (t === 'vpcflow' || t === 'route53' ? 'aws' : t);
        replace(
          typesEl,
          table(
            'honeypot-types',
            [
              { key: 'honeypot', label: 'Type', pick: (r) => ctx.addFilter('honeypot', filterOf(r.honeypot)), pickTitle: 'Filter on this honeypot' },
              { key: 'kind', label: 'Kind' },
              { key: 'events', label: 'Events', kind: 'int' },
              { key: 'percent', label: '%', kind: 'num' },
              { key: 'eventids', label: 'Event ids', kind: 'int' },
              { key: 'first_hour', label: 'First hour', kind: 'ts' },
              { key: 'last_hour', label: 'Last hour', kind: 'ts' },
            ],
            typeRows,
          ),
        );
        const portRows = rowsOf(ports);
        replace(
          portsEl,
          table(
            'dst-ports',
            [
              { key: 'label', label: 'Port', kind: 'mono' },
              { key: 'events', label: 'Events', kind: 'int' },
              { key: 'unique_ips', label: 'Unique IPs', kind: 'int' },
              { key: 'honeypots', label: 'Types' },
            ],
            portRows,
            { empty: 'No event in range names a destination port.' },
          ),
        );
        replace(portsNote, `events with a port; ${fmtInt(ports.without_port)} of ${fmtInt(ports.events)} carry none`);
        const all = sens.totals || { events: 0, sessions: 0, unique_ips: 0 };
        const perSensor = rowsOf(sens.sensors);
        const first = parseTs(all.first_seen);
        const last = parseTs(all.last_seen);
        replace(
          countersEl,
          counters([
            { key: 'events', label: 'Events', value: all.events, class: 'accent' },
            { key: 'sessions', label: 'Sessions', value: all.sessions, estimated: (sens.estimated || []).includes('sessions') },
            { key: 'unique_ips', label: 'Unique source IPs', value: all.unique_ips },
            { key: 'sensors', label: 'Active sensors', value: perSensor.filter((r) => r.sensor !== null && r.sensor !== undefined && r.sensor !== '(no sensor)').length },
            { key: 'first_seen', label: 'First event', text: fmtTs(all.first_seen), class: 'time' },
            { key: 'last_seen', label: 'Last event', text: fmtTs(all.last_seen), class: 'time', sub: first && last ? `span ${fmtDuration((last - first) / 1000)}` : null },
          ]),
        );

        const sensorCols = [
          { key: 'sensor', label: 'Sensor', pick: (r) => ctx.addFilter('sensor', r.sensor) },
          { key: 'events', label: 'Events', kind: 'int' },
          { key: 'sessions', label: 'Sessions', kind: 'int' },
          { key: 'unique_ips', label: 'Unique IPs', kind: 'int' },
          { key: 'first_seen', label: 'First seen', kind: 'ts' },
          { key: 'last_seen', label: 'Last seen', kind: 'ts' },
        ];
        const merged = perSensor;
        if (merged.some((r) => r.region)) {
          sensorCols.splice(1, 0, { key: 'region', label: 'Region', pick: (r) => ctx.addFilter('region', r.region) });
        }
        if (merged.some((r) => r.exposure)) {
          sensorCols.splice(2, 0, { key: 'exposure', label: 'Exposure', pick: (r) => ctx.addFilter('exposure', r.exposure) });
        }
        replace(sensorsEl, table('overview-sensors', sensorCols, merged, { estimated: sens.estimated }));
        replace(
          regionsEl,
          table(
            'regions',
            [
              { key: 'region', label: 'Region', pick: (r) => ctx.addFilter('region', r.region) },
              { key: 'events', label: 'Events', kind: 'int' },
              { key: 'sessions', label: 'Sessions', kind: 'int' },
              { key: 'unique_ips', label: 'Unique IPs', kind: 'int' },
              { key: 'logins', label: 'Logins', kind: 'int' },
              { key: 'successes', label: 'Successes', kind: 'int' },
              { key: 'commands', label: 'Commands', kind: 'int' },
              { key: 'downloads', label: 'Downloads', kind: 'int' },
              { key: 'cost', label: 'Cost', kind: 'usd' },
              { key: 'events_per_dollar', label: 'Events / $', kind: 'int' },
            ],
            rowsOf(sens.regions),
            { estimated: sens.estimated },
          ),
        );

        await Promise.all([
          timeChart(activity, tl, { kind: 'area' }),
          bars(
            typesChart,
            typeRows.map((r) => ({ label: r.honeypot, value: r.events, key: r.honeypot, note: `${r.kind}, ${r.percent}%` })),
            { onPick: (it) => ctx.addFilter('honeypot', filterOf(it.key)), color: '#a48cf0' },
          ),
          columns(
            portsChart,
            portRows.map((r) => ({ label: r.label, value: r.events })),
            { valueName: 'events', color: '#f0a35e' },
          ),
          bars(
            countries,
            rowsOf(tc).map((r) => ({ label: `${r.country} ${countryName(r.country, r.name)}`, value: r.events, key: r.country, note: `${r.unique_ips} unique IPs` })),
            { onPick: (it) => ctx.addFilter('country', it.key) },
          ),
        ]);
      },
    };
  },
};
