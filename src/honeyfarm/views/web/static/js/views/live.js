// SPDX-License-Identifier: MIT
// Live: events as they land in the lake (Server-Sent Events), newest on top, with pulses on a map.

import { getJSON, rowsOf, toParams, withParams } from '../api.js';
import { GEO, centroid, chart, chartBox, countryName, draw, rt } from '../charts.js';
import { card, clear, fmtInt, fmtTs, h } from '../dom.js';
import { fillText } from '../table.js';
import { grid, viewHead } from './common.js';

const MAX_ROWS = 200;
const PULSE_SECONDS = 12;
const MAX_PULSES = 60;

function detail(e) {
  if (e.command) return `$ ${e.command}`;
  if (e.url) return e.url;
  if (e.username !== null && e.username !== undefined) return `${e.username} / ${e.password ?? ''}`;
  return '';
}

function row(e, fresh) {
  const ts = fmtTs(e.ts);
  const tr = h(
    'tr',
    { class: fresh ? 'fresh' : null },
    h('td', { class: 'nowrap', title: ts }, ts.slice(5)),
    fillText(h('td', { class: 'sensor' }), e.sensor ?? '—', 40),
    h('td', { class: 'mono' }, String(e.eventid ?? '—').replace(/^cowrie\./, '')),
    h(
      'td',
      { class: 'mono nowrap' },
      e.src_country ? h('span', { class: 'cc', title: countryName(e.src_country) }, e.src_country) : null,
      e.src_country ? ' ' : null,
      e.src_ip ?? '—',
    ),
    fillText(h('td', { class: 'mono detail' }), detail(e), 120),
  );
  if (e.eventid) tr.cells[2].title = String(e.eventid);
  return tr;
}

export default {
  title: 'Live',
  mount(root) {
    const mapEl = chartBox('live-map', 'h-live');
    const tbody = h('tbody');
    const feed = h(
      'table',
      { class: 'grid live-feed', 'data-table': 'live' },
      h('thead', null, h('tr', null, ['Time (UTC)', 'Sensor', 'Event', 'Source', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
      tbody,
    );
    const status = h('span', { class: 'live-status' }, 'connecting…');
    const counter = h('span', { class: 'live-count' });
    status.dataset.state = 'connecting';
    root.append(
      viewHead('Live', 'New events appear as they are ingested into the lake. The filters apply; the time range only to the first list.', h('div', { class: 'live-head' }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), status, counter)),
      grid('cols-2-3 live-grid', card('Arriving attacks', mapEl, { class: 'map-card' }), card('Feed', h('div', { class: 'table-wrap feed-wrap' }, feed), { sub: `newest first, last ${MAX_ROWS}` })),
    );

    let es = null;
    let timer = 0;
    let received = 0;
    let sensorsAt = new Map();
    let baseSensors = [];
    const pulses = []; // {t, from:[lon,lat], to:[lon,lat]|null, label}
    let chartReady = false;

    function addPulse(e) {
      let from = null;
      if (e.src_lat !== null && e.src_lat !== undefined && e.src_lon !== null && e.src_lon !== undefined) from = [Number(e.src_lon), Number(e.src_lat)];
      else if (e.src_country) from = centroid(e.src_country);
      if (!from || from.some((x) => !Number.isFinite(x))) return;
      pulses.push({ t: performance.now(), from, to: sensorsAt.get(e.sensor) || null, label: `${e.src_ip ?? ''} ${e.src_country ?? ''} → ${e.sensor ?? ''}` });
      while (pulses.length > MAX_PULSES) pulses.shift();
    }

    function liveSeries() {
      const now = performance.now();
      while (pulses.length && now - pulses[0].t > PULSE_SECONDS * 1000) pulses.shift();
      return [
        {
          id: 'pulses',
          type: 'effectScatter',
          coordinateSystem: 'geo',
          zlevel: 2,
          rippleEffect: { brushType: 'stroke', scale: 4, period: 2 },
          symbolSize: 6,
          itemStyle: { color: '#ff6b6b' },
          data: pulses.map((p) => ({ value: p.from, name: rt(p.label) })),
        },
        {
          id: 'arcs',
          type: 'lines',
          coordinateSystem: 'geo',
          zlevel: 1,
          effect: { show: true, period: 2.5, trailLength: 0.3, symbolSize: 3, color: '#ffb3a7' },
          lineStyle: { color: '#ff6b6b', opacity: 0.35, width: 1, curveness: 0.3 },
          data: pulses.filter((p) => p.to).map((p) => ({ coords: [p.from, p.to], name: rt(p.label) })),
        },
      ];
    }

    function refreshMap() {
      if (!chartReady) return;
      const s = liveSeries();
      chart(mapEl).setOption({ series: s });
      mapEl.dataset.points = String(baseSensors.length + s[0].data.length + s[1].data.length);
    }

    /** list: newest first; it ends on top of the feed in that order. */
    function addEvents(list, fresh) {
      const frag = document.createDocumentFragment();
      for (const e of list) frag.appendChild(row(e, fresh));
      for (let i = list.length - 1; i >= 0; i--) addPulse(list[i]); // pulses: oldest first
      tbody.insertBefore(frag, tbody.firstChild);
      while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(-1);
    }

    function connect(ctx) {
      if (es) es.close();
      const qs = toParams(ctx.api).toString(); // the server filters the feed
      es = new EventSource(`/api/live${qs ? `?${qs}` : ''}`);
      es.addEventListener('open', () => {
        status.textContent = 'live';
        status.dataset.state = 'open';
        root.classList.add('is-live');
      });
      es.addEventListener('error', () => {
        status.textContent = es && es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…';
        status.dataset.state = 'error';
        root.classList.remove('is-live');
      });
      es.addEventListener('events', (msg) => {
        let list;
        try {
          list = JSON.parse(msg.data);
        } catch {
          return;
        }
        if (!Array.isArray(list)) return;
        const mine = list.filter((e) => e && typeof e === 'object');
        if (!mine.length) return;
        // newest on top, whatever order the batch comes in
        addEvents(mine.sort((a, b) => String(b.ts).localeCompare(String(a.ts))), true);
        received += mine.length;
        counter.textContent = `${fmtInt(received)} new since opened`;
        refreshMap();
      });
    }

    return {
      async load(ctx, signal) {
        const [recent, map] = await Promise.all([
          getJSON('live/recent', withParams(ctx.api, { limit: 100 }), signal),
          getJSON('map', ctx.api, signal),
        ]);
        baseSensors = rowsOf(map.sensors).filter((s) => s.lat !== null && s.lon !== null);
        sensorsAt = new Map(baseSensors.map((s) => [s.sensor, [Number(s.lon), Number(s.lat)]]));
        clear(tbody);
        pulses.length = 0;
        received = 0;
        counter.textContent = '';
        addEvents(recent.events || [], false); // newest first
        // only the latest few recent events pulse on the initial map
        pulses.splice(0, Math.max(0, pulses.length - 25));
        const option = {
          geo: { ...GEO, roam: true },
          tooltip: { trigger: 'item', renderMode: 'richText', confine: true, formatter: (p) => (p.seriesId === 'sensors' ? `sensor ${p.name}` : p.name || '') }, // names went through rt()
          series: [
            {
              id: 'sensors',
              type: 'scatter',
              coordinateSystem: 'geo',
              zlevel: 3,
              symbol: 'diamond',
              symbolSize: 11,
              itemStyle: { color: '#ffd479', borderColor: '#1b2330', borderWidth: 1 },
              label: { show: true, position: 'right', color: '#e8edf3', fontSize: 10, formatter: (p) => p.name },
              data: baseSensors.map((s) => ({ name: rt(s.sensor, 40), value: [Number(s.lon), Number(s.lat)] })),
            },
            ...liveSeries(),
          ],
        };
        const s = option.series;
        await draw(mapEl, option, baseSensors.length + s[1].data.length + s[2].data.length);
        chartReady = true;
        connect(ctx);
        clearInterval(timer);
        timer = setInterval(refreshMap, 1000);
      },
      unmount() {
        if (es) es.close();
        es = null;
        clearInterval(timer);
      },
    };
  },
};
