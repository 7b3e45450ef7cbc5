// SPDX-License-Identifier: MIT
// Network: AWS VPC Flow Logs and Route 53 query logs, when the lake has them.

import { getJSON, rowsOf } from '../api.js';
import { bars, chartBox, countryName } from '../charts.js';
import { card, emptyBox, h, replace } from '../dom.js';
import { table } from '../table.js';
import { grid, viewHead } from './common.js';

const PLAIN = /(^|_)(port|asn|type|rcode|protocol|action)$/;

/** Columns for an arbitrary table answer: numbers right-aligned, countries filterable. */
export function autoColumns(ans, ctx) {
  const rows = rowsOf(ans);
  const cols = ans.columns || [];
  // a country cell already shows the country's name
  const shown = cols.includes('country') ? cols.filter((c) => c !== 'name') : cols;
  return shown.map((key) => {
    const vals = rows.map((r) => r[key]).filter((v) => v !== null && v !== undefined);
    const numeric = vals.length > 0 && vals.every((v) => typeof v === 'number');
    const col = { key, label: key.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()) };
    if (key === 'country' || key === 'src_country') {
      col.kind = 'country';
      col.nameKey = 'name';
      col.pick = (r) => ctx.addFilter('country', r[key]);
    } else if (numeric) col.kind = PLAIN.test(key) ? 'plain' : 'int';
    else if (/^query_name$|(^|_)ip$/.test(key)) col.kind = 'mono';
    else if (/(^|_)seen$/.test(key)) col.kind = 'ts';
    return col;
  });
}

/** Bar items from a table: the first text-ish column as label, the first count-like column as value. */
function itemsOf(ans) {
  const rows = rowsOf(ans);
  const cols = ans.columns || [];
  const valueCol = cols.find((c) => /^(events|flows|count|queries|packets|bytes|records)$/.test(c)) || cols.find((c, i) => i > 0 && rows.some((r) => typeof r[c] === 'number'));
  const labelCol = cols.find((c) => c !== valueCol);
  return rows.slice(0, 12).map((r) => {
    const v = r[labelCol];
    const label = labelCol === 'country' ? `${v} ${countryName(v, r.name)}` : v === null || v === undefined ? '∅' : String(v);
    return { label, value: Number(r[valueCol]) || 0, key: v, isCountry: labelCol === 'country' };
  });
}

function section(ctx, name, title, ans, color) {
  const chartEl = chartBox(name, 'h-260');
  const body = h('div', null, chartEl, table(name, autoColumns(ans, ctx), rowsOf(ans)));
  const items = itemsOf(ans);
  const drawn = bars(chartEl, items, {
    color,
    mono: /quer/.test(name),
    labelWidth: 30,
    onPick: items.length && items[0].isCountry ? (it) => ctx.addFilter('country', it.key) : null,
  });
  return { el: card(title, body), drawn };
}

export default {
  title: 'Network',
  mount(root) {
    const vpcEl = h('div');
    const r53El = h('div');
    root.append(
      viewHead('Network', 'AWS VPC Flow Logs (traffic reaching the sensors) and Route 53 query logs (look-ups of the bait names).'),
      h('h3', { class: 'section-title' }, 'VPC Flow Logs'),
      vpcEl,
      h('h3', { class: 'section-title' }, 'Route 53 queries'),
      r53El,
    );
    return {
      async load(ctx, signal) {
        const [vpc, r53] = await Promise.all([getJSON('network/vpc', ctx.api, signal), getJSON('network/route53', ctx.api, signal)]);
        const waits = [];
        if (vpc.present) {
          const a = section(ctx, 'vpc-by-country', 'Flows by source country', vpc.by_country, '#4fb3d9');
          const b = section(ctx, 'vpc-by-port', 'Flows by destination port', vpc.by_port, '#f0a35e');
          const c = section(ctx, 'vpc-by-action', 'Accepted / rejected', vpc.by_action, '#7bc96f');
          replace(vpcEl, grid('cols-3', a.el, b.el, c.el));
          waits.push(a.drawn, b.drawn, c.drawn);
        } else {
          replace(vpcEl, emptyBox('No VPC Flow Logs in the lake. Ingest them with `honeyfarm ingest` (format aws-vpc-flow) to see traffic by country, port and action.'));
          vpcEl.firstChild.dataset.absent = 'vpc';
        }
        if (r53.present) {
          const a = section(ctx, 'r53-top-queries', 'Top queried names', r53.top_queries, '#a48cf0');
          const b = section(ctx, 'r53-by-type', 'Query types', r53.by_type, '#e5d16a');
          const c = section(ctx, 'r53-by-country', 'Resolvers by country', r53.by_country, '#5fd4b4');
          replace(r53El, grid('cols-3', a.el, b.el, c.el));
          waits.push(a.drawn, b.drawn, c.drawn);
        } else {
          replace(r53El, emptyBox('No Route 53 query logs in the lake.'));
          r53El.firstChild.dataset.absent = 'route53';
        }
        await Promise.all(waits);
      },
    };
  },
};
