// SPDX-License-Identifier: MIT
// Timeline: events per hour/day, stacked by country, honeypot or not at all.

import { rowsOf } from '../api.js';
import { bars, chartBox } from '../charts.js';
import { card, h, replace, segmented } from '../dom.js';
import { table } from '../table.js';
import { grid, panel, timeChart, viewHead } from './common.js';

export default {
  title: 'Timeline',
  mount(root, ctx0) {
    const chartEl = chartBox('timeline', 'h-360');
    const idsChart = chartBox('eventids', 'h-300');
    const idsTable = h('div');
    const tools = h('div', { class: 'toolbar' });
    const chartCard = card('Events over time', chartEl, { tools });
    root.append(
      viewHead('Timeline', 'Click a series to filter on that country or honeypot; drag the slider to zoom in time.'),
      grid('cols-1', chartCard),
      grid('cols-2', card('Event types', idsChart), card('Event ids', idsTable)),
    );
    let ctx = ctx0;
    const setTools = () => {
      replace(
        tools,
        h('span', { class: 'tool-label' }, 'Stack by'),
        segmented(
          [
            ['country', 'Country'],
            ['honeypot', 'Honeypot'],
            ['none', 'None'],
          ],
          ctx.option('by', 'country'),
          (v) => ctx.setOption('by', v),
          'Stack by',
        ),
        h('span', { class: 'tool-label' }, 'Bucket'),
        segmented(
          [
            ['hour', 'Hour'],
            ['day', 'Day'],
          ],
          ctx.option('bucket', 'hour'),
          (v) => ctx.setOption('bucket', v),
          'Bucket',
        ),
        h('span', { class: 'tool-label' }, 'Chart'),
        segmented(
          [
            ['area', 'Area'],
            ['bar', 'Bars'],
          ],
          ctx.option('kind', 'area'),
          (v) => ctx.setOption('kind', v),
          'Chart type',
        ),
      );
    };
    return {
      async load(c, signal) {
        ctx = c;
        setTools();
        const by = ctx.option('by', 'country');
        const bucket = ctx.option('bucket', 'hour');
        const [tl, ids] = await Promise.all([
          panel(ctx, 'timeline', { by, bucket, limit: 8 }, signal),
          panel(ctx, 'eventids', { limit: 100 }, signal),
        ]);
        const idRows = rowsOf(ids);
        replace(
          idsTable,
          table(
            'eventids',
            [
              { key: 'eventid', label: 'Event id', kind: 'mono', pick: (r) => ctx.addFilter('honeypot', String(r.eventid).split('.')[0]), pickTitle: 'Filter on this honeypot' },
              { key: 'events', label: 'Events', kind: 'int' },
              { key: 'registered', label: 'Known', kind: 'bool' },
            ],
            idRows,
          ),
        );
        await Promise.all([
          timeChart(chartEl, tl, {
            kind: ctx.option('kind', 'area'),
            zoom: true,
            onSeries: by === 'none' ? null : (name) => {
              if (name === 'other' || name === 'unknown') return;
              ctx.addFilter(by === 'country' ? 'country' : 'honeypot', name);
            },
          }),
          bars(
            idsChart,
            idRows.slice(0, 12).map((r) => ({ label: r.eventid, value: r.events, key: String(r.eventid).split('.')[0] })),
            { onPick: (it) => ctx.addFilter('honeypot', it.key), labelWidth: 30, mono: true, color: '#a48cf0' },
          ),
        ]);
      },
    };
  },
};
