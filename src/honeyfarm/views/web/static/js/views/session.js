// SPDX-License-Identifier: MIT
// One session: its events, and a replay of its TTY log (text only, into a <pre>).

import { getJSON, rowsOf } from '../api.js';
import { countryName } from '../charts.js';
import { card, clock, emptyBox, esc, fmtTs, h, longText, replace } from '../dom.js';
import { table } from '../table.js';
import { grid, viewHead } from './common.js';

/** A source address as a link to its IP page (#/ip/<addr>), kept filters and all: a button, no href from data. */
export function ipLink(ctx, ip) {
  const b = h('button', { type: 'button', class: 'btn small ip-link', 'data-ip': String(ip), title: 'What this address did, on every sensor' }, longText(ip, 64));
  b.addEventListener('click', (ev) => {
    ev.stopPropagation();
    ctx.go('ip', [String(ip)]);
  });
  return b;
}

const COLS = [
  { key: 'ts', label: 'Time (UTC)', kind: 'ts' },
  { key: 'eventid', label: 'Event', kind: 'mono' },
  { key: 'src_ip', label: 'Source', kind: 'mono' },
  { key: 'src_port', label: 'Src port', kind: 'plain' },
  { key: 'dst_port', label: 'Dst port', kind: 'plain' },
  { key: 'protocol', label: 'Proto' },
  { key: 'username', label: 'Username', kind: 'mono' },
  { key: 'password', label: 'Password', kind: 'mono' },
  { key: 'command', label: 'Command', kind: 'mono', class: 'wide' },
  { key: 'url', label: 'URL', kind: 'mono', class: 'wide' },
  { key: 'sha256', label: 'SHA-256', kind: 'mono', class: 'hash' },
  { key: 'client_version', label: 'Client', kind: 'mono' },
  { key: 'hassh', label: 'HASSH', kind: 'mono', class: 'hash' },
  { key: 'duration', label: 'Duration', kind: 'dur' },
];

// The files this session downloaded or uploaded (a row opens the file page, views/file.js).
const FILE_COLS = [
  { key: 'sha256', label: 'SHA-256', kind: 'mono', class: 'hash' },
  { key: 'verdict', label: 'Verdict', format: (v, r) => v || r.status || '—' },
  { key: 'family', label: 'Family', kind: 'mono' },
  { key: 'size', label: 'Size (B)', kind: 'int' },
  { key: 'file_format', label: 'Type', format: (v, r) => [v, r.arch].filter(Boolean).join(' / ') || '—' },
  { key: 'urls', label: 'URL', kind: 'mono', class: 'wide' },
  { key: 'first_seen', label: 'First seen', kind: 'ts' },
];

const IDLE_LIMIT = 2.0; // seconds: longer pauses in the recording are shortened

/** Apply terminal text (escape sequences already removed by the server) to a screen buffer. */
export function applyText(screen, text) {
  let s = screen;
  const t = String(text).replace(/\r\n/g, '\n');
  for (let i = 0; i < t.length; i++) {
    const ch = t[i];
    const code = ch.charCodeAt(0);
    if (ch === '\n' || ch === '\t') s += ch;
    else if (ch === '\r') {
      const nl = s.lastIndexOf('\n');
      // carriage return then new text overwrites the line (progress bars)
      if (i + 1 < t.length && t[i + 1] !== '\n') s = s.slice(0, nl + 1);
    } else if (ch === '\b' || code === 0x7f) {
      if (s.length && s[s.length - 1] !== '\n') s = s.slice(0, -1);
    } else if (code < 0x20) {
      /* other control characters: dropped */
    } else s += ch;
  }
  return s.length > 400000 ? s.slice(-300000) : s;
}

class Player {
  constructor(data) {
    // compress idle time once, keep the original time for display
    let shift = 0;
    let prev = 0;
    this.frames = [];
    for (const f of data.frames || []) {
      const t = Number(f[0]) || 0;
      const gap = t - prev;
      if (gap > IDLE_LIMIT) shift += gap - IDLE_LIMIT;
      prev = t;
      this.frames.push([t - shift, String(f[1] ?? '')]);
    }
    this.duration = this.frames.length ? this.frames[this.frames.length - 1][0] : 0;
    this.pos = 0; // virtual seconds
    this.next = 0; // index of the next frame to apply
    this.screen = '';
    this.speed = 1;
    this.playing = false;
    this.raf = 0;

    this.pre = h('pre', { class: 'tty', 'aria-label': 'Terminal replay', tabindex: '0' });
    this.pre.dataset.tty = '1';
    if (data.width) this.pre.style.setProperty('--cols', String(Math.min(Number(data.width) || 80, 240)));
    if (data.height) this.pre.style.setProperty('--rows', String(Math.min(Math.max(Number(data.height) || 24, 12), 60)));
    this.playBtn = h('button', { type: 'button', class: 'btn primary', 'data-tty-play': '1' }, 'Play');
    this.playBtn.addEventListener('click', () => (this.playing ? this.pause() : this.play()));
    const restart = h('button', { type: 'button', class: 'btn', title: 'Back to the start' }, 'Restart');
    restart.addEventListener('click', () => this.seek(0));
    const end = h('button', { type: 'button', class: 'btn', title: 'Show everything', 'data-tty-end': '1' }, 'End');
    end.addEventListener('click', () => {
      this.pause();
      this.seek(this.duration);
    });
    this.speedSel = h('select', { 'aria-label': 'Speed', 'data-tty-speed': '1' });
    for (const s of [0.5, 1, 2, 4, 8, 16]) this.speedSel.appendChild(h('option', { value: String(s), selected: s === 1 }, `${s}×`));
    this.speedSel.addEventListener('change', () => this.setSpeed(Number(this.speedSel.value)));
    this.bar = h('input', { type: 'range', min: '0', max: String(Math.max(this.duration, 0.001)), step: '0.01', value: '0', 'aria-label': 'Position' });
    this.bar.addEventListener('input', () => this.seek(Number(this.bar.value)));
    this.time = h('span', { class: 'tty-time' });
    this.controls = h('div', { class: 'tty-controls' }, this.playBtn, restart, end, this.bar, this.time, h('label', { class: 'tty-speed' }, 'Speed ', this.speedSel));
    this.el = h('div', { class: 'player' }, this.controls, this.pre);
    this.el.dataset.state = 'stopped';
    this.show();
  }

  show() {
    this.pre.textContent = esc(this.screen, true); // \n and \t stay; bidi and invisible characters show
    this.pre.scrollTop = this.pre.scrollHeight;
    this.bar.value = String(this.pos);
    this.time.textContent = `${clock(this.pos)} / ${clock(this.duration)}`;
  }

  advanceTo(t) {
    while (this.next < this.frames.length && this.frames[this.next][0] <= t) {
      this.screen = applyText(this.screen, this.frames[this.next][1]);
      this.next++;
    }
    this.pos = Math.min(t, this.duration);
  }

  seek(t) {
    const target = Math.max(0, Math.min(t, this.duration));
    if (target < this.pos) {
      this.screen = '';
      this.next = 0;
    }
    this.advanceTo(target);
    if (this.playing) {
      this.t0 = performance.now();
      this.p0 = this.pos;
    }
    if (this.pos >= this.duration && !this.playing) this.el.dataset.state = 'ended';
    this.show();
  }

  play() {
    if (this.pos >= this.duration) this.seek(0);
    this.playing = true;
    this.el.dataset.state = 'playing';
    this.playBtn.textContent = 'Pause';
    this.t0 = performance.now();
    this.p0 = this.pos;
    const tick = () => {
      if (!this.playing) return;
      const t = this.p0 + ((performance.now() - this.t0) / 1000) * this.speed;
      this.advanceTo(t);
      this.show();
      if (this.pos >= this.duration) {
        this.playing = false;
        this.el.dataset.state = 'ended';
        this.playBtn.textContent = 'Replay';
        return;
      }
      this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  pause() {
    this.playing = false;
    cancelAnimationFrame(this.raf);
    this.el.dataset.state = this.pos >= this.duration ? 'ended' : 'paused';
    this.playBtn.textContent = 'Play';
  }

  setSpeed(s) {
    this.speed = s > 0 ? s : 1;
    if (this.playing) {
      this.t0 = performance.now();
      this.p0 = this.pos;
    }
  }

  destroy() {
    this.pause();
  }
}

export default {
  title: 'Session',
  mount(root, ctx0) {
    const [sensor, session] = ctx0.args;
    const info = h('div', { class: 'session-info' });
    const eventsEl = h('div');
    const ttyEl = h('div');
    const filesEl = h('div');
    let player = null;
    const back = h('button', { type: 'button', class: 'btn small ghost' }, '← Commands');
    back.addEventListener('click', () => (history.length > 1 ? history.back() : ctx0.go('commands')));
    root.append(
      viewHead('Session', null, back),
      info,
      grid('cols-1', card('TTY replay', ttyEl, { class: 'tty-card' })),
      grid('cols-1', card('Files captured', filesEl, { sub: 'downloaded or uploaded in this session; a row opens the file' })),
      grid('cols-1', card('Events', eventsEl)),
    );
    return {
      async load(ctx, signal) {
        if (!sensor || !session) throw new Error('no session given: #/session/<sensor>/<session>');
        const [ans, files] = await Promise.all([
          getJSON('session', { sensor, session }, signal),
          getJSON('malware/session-files', { sensor, session }, signal),
        ]);
        replace(
          filesEl,
          table('session-files', FILE_COLS, rowsOf(files), {
            empty: 'No file was downloaded or uploaded in this session.',
            onRow: (r) => ctx.go('file', [String(r.sha256).toLowerCase()]),
          }),
        );
        const rows = rowsOf(ans.events);
        const first = rows[0] || {};
        const last = rows[rows.length - 1] || {};
        const src = rows.find((r) => r.src_ip)?.src_ip;
        // the first value a session's events carry (Cowrie sends the client banner and HASSH once)
        const firstOf = (k) => rows.find((r) => r[k] !== null && r[k] !== undefined && r[k] !== '')?.[k];
        const cc = firstOf('src_country');
        const asn = firstOf('src_asn');
        const org = firstOf('src_as_org');
        const fact = (key, label, value, cls) => {
          const dd = h('dd', { class: cls || null }, value === undefined || value === null ? '—' : value);
          return h('div', { 'data-fact': key }, h('dt', null, label), dd);
        };
        replace(
          info,
          h(
            'dl',
            { class: 'facts' },
            fact('sensor', 'Sensor', longText(ans.sensor ?? sensor, 120)),
            fact('session', 'Session', longText(ans.session ?? session, 120), 'mono'),
            fact('source', 'Source', src ? ipLink(ctx, src) : '—', 'mono'),
            fact('country', 'Country', cc ? `${cc} ${countryName(cc, firstOf('src_country_name') || '')}` : '—'),
            fact('asn', 'AS', asn || org ? longText([asn ? `AS${asn}` : null, org].filter(Boolean).join(' · '), 120) : '—'),
            fact('client', 'Client', firstOf('client_version') ? longText(firstOf('client_version'), 120) : '—', 'mono'),
            fact('hassh', 'HASSH', firstOf('hassh') ? longText(firstOf('hassh'), 64) : '—', 'mono'),
            fact('started', 'Started', fmtTs(first.ts)),
            fact('ended', 'Ended', fmtTs(last.ts)),
            fact('events', 'Events', String(rows.length)),
          ),
        );
        const used = COLS.filter((c) => c.key === 'ts' || c.key === 'eventid' || rows.some((r) => r[c.key] !== null && r[c.key] !== undefined && r[c.key] !== ''));
        replace(eventsEl, table('session-events', used, rows));
        if (player) player.destroy();
        player = null;
        if (ans.ttylog) {
          const tty = await getJSON('session/ttylog', { sensor, session }, signal);
          player = new Player(tty);
          replace(ttyEl, player.el);
          player.play();
        } else {
          replace(ttyEl, emptyBox('No TTY log was recorded for this session.'));
        }
      },
      unmount() {
        if (player) player.destroy();
      },
    };
  },
};
