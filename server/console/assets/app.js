// campaignq console: plain JavaScript, no libraries, nothing fetched from
// any host but this server. Pages are hash routes (#/, #/campaign/ID,
// #/workers, #/failed); live numbers arrive as Server-Sent Events from
// /api/events, read with fetch() so that the bearer token can be sent.
'use strict';

const state = {
  overview: null,      // the latest snapshot
  me: null,            // /api/whoami
  page: null,          // {name, id}
  pageRefresh: null,   // what to redo when a snapshot arrives
};

const fmt = new Intl.NumberFormat();
const num = (n) => (n === null || n === undefined ? '–' : fmt.format(n));
const time = (ms) => (ms ? new Date(ms).toLocaleString() : '–');
const clock = (ms) => new Date(ms).toLocaleTimeString();
function age(seconds) {
  if (!seconds) return '0 s';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.floor(seconds % 60)} s`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function toast(message) {
  const box = document.getElementById('toast');
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

// --- API ----------------------------------------------------------------------
function headers() {
  // Always an Authorization header: actions require one (CSRF), and with
  // authentication on it carries the pasted token.
  return { Authorization: `Bearer ${sessionStorage.getItem('campaignq-token') || 'loopback'}` };
}

async function api(path, method = 'GET') {
  const response = await fetch(path, { method, headers: headers(), cache: 'no-store' });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (response.status === 401) showTokenForm();
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

function showTokenForm() {
  const form = document.getElementById('token-form');
  form.hidden = false;
}

document.getElementById('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('token');
  sessionStorage.setItem('campaignq-token', input.value.trim());
  input.value = '';
  event.target.hidden = true;
  start();
});

// --- live stream ----------------------------------------------------------------
let streamAbort = null;
async function stream() {
  if (streamAbort) streamAbort.abort();
  const abort = new AbortController();
  streamAbort = abort;
  const live = document.getElementById('live');
  try {
    const response = await fetch('/api/events', { headers: headers(), signal: abort.signal });
    if (response.status === 401) showTokenForm();
    if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
    live.textContent = 'live';
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (data) onSnapshot(JSON.parse(data));
      }
    }
  } catch (error) {
    if (abort.signal.aborted) return;
  }
  if (abort.signal.aborted) return;
  live.textContent = 'reconnecting…';
  setTimeout(stream, 1000);
}

function onSnapshot(overview) {
  state.overview = overview;
  document.getElementById('live').textContent = `live · ${clock(overview.time_ms)}`;
  if (state.pageRefresh) state.pageRefresh(overview);
}

// --- charts (inline SVG) ----------------------------------------------------------
const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// series: [{points: [[x, y]...], color, dash, label}]; x in ms.
function lineChart(container, series, { yLabel = '', minY = 0 } = {}) {
  // Drawn at the container's own width, so that text is never stretched.
  const width = Math.max(240, Math.round(container.clientWidth || 800));
  const height = 160, left = 48, right = 8, top = 8, bottom = 22;
  const all = series.flatMap((s) => s.points);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `${yLabel} chart` });
  if (all.length === 0) {
    const text = svg('text', { x: left, y: height / 2 });
    text.textContent = 'no data yet';
    root.append(text);
    container.replaceChildren(root);
    return;
  }
  const xs = all.map((p) => p[0]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1000);
  const y1 = Math.max(minY, ...all.map((p) => p[1]), 1);
  const X = (x) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const Y = (y) => top + (1 - y / y1) * (height - top - bottom);
  root.append(svg('line', { class: 'axis', x1: left, y1: Y(0), x2: width - right, y2: Y(0) }));
  root.append(svg('line', { class: 'axis', x1: left, y1: top, x2: left, y2: Y(0) }));
  const ymax = svg('text', { x: 4, y: top + 10 });
  ymax.textContent = fmt.format(Math.round(y1));
  const yzero = svg('text', { x: 4, y: Y(0) });
  yzero.textContent = '0';
  const tstart = svg('text', { x: left, y: height - 4 });
  tstart.textContent = clock(x0);
  const tend = svg('text', { x: width - right, y: height - 4, 'text-anchor': 'end' });
  tend.textContent = clock(x1);
  root.append(ymax, yzero, tstart, tend);
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join('');
    root.append(svg('path', { d, fill: 'none', stroke: s.color, 'stroke-width': 2,
      'stroke-dasharray': s.dash || '', 'vector-effect': 'non-scaling-stroke' }));
  }
  container.replaceChildren(root);
}

function legend(series) {
  return el('div', { class: 'legend' }, ...series.map((s) =>
    el('span', {}, el('span', { class: `key ${s.label} ${s.style || ''}` }), s.label)));
}

// --- fill bar ---------------------------------------------------------------------
// A bar whose width is approved / cap, with the numbers beside it (colour is
// never the only signal). data-approved/data-cap let tests read what it shows.
function fillBar() {
  const seg = el('span', { class: 'seg approved' });
  const bar = el('span', { class: 'bar', role: 'meter', 'aria-valuemin': 0 }, seg);
  const text = el('span', { class: 'text' });
  const root = el('span', { class: 'fill' }, bar, text);
  root.update = (approved, cap) => {
    const unlimited = cap === null || cap === undefined;
    bar.dataset.approved = approved;
    bar.dataset.cap = unlimited ? '' : cap;
    bar.setAttribute('aria-valuenow', approved);
    if (!unlimited) bar.setAttribute('aria-valuemax', cap);
    bar.setAttribute('aria-label', unlimited ? `${approved} approved, no cap` : `${approved} of ${cap} approved`);
    seg.className = unlimited ? 'seg unlimited' : 'seg approved';
    seg.style.width = unlimited ? '100%' : `${Math.min(100, (100 * approved) / cap)}%`;
    text.textContent = unlimited ? `${num(approved)} / ∞` : `${num(approved)} / ${num(cap)}`;
  };
  return root;
}

// --- pages ------------------------------------------------------------------------
function tile(label, id) {
  return el('div', { class: 'tile' }, el('span', { class: 'label', text: label }),
    el('span', { class: 'value', id, text: '–' }));
}

function renderOverview(main) {
  main.append(el('h1', { text: 'Overview' }));
  main.append(el('div', { class: 'tiles' },
    tile('Pending', 'stat-pending'), tile('Waitlisted', 'stat-waitlisted'),
    tile('Decided per second', 'stat-rate'), tile('Oldest pending', 'stat-oldest'),
    tile('Workers alive', 'stat-workers'), tile('Failed', 'stat-failed')));
  const chart = el('div', { id: 'rate-chart' });
  main.append(el('section', { class: 'chart', 'aria-labelledby': 'rate-title' },
    el('h2', { id: 'rate-title', text: 'Decided per second (last minutes)' }), chart));
  main.append(el('h2', { text: 'Open campaigns' }));
  const body = el('tbody', { id: 'campaign-rows' });
  main.append(el('div', { class: 'table-wrap' }, el('table', {},
    el('thead', {}, el('tr', {},
      el('th', { text: 'Campaign' }), el('th', { text: 'Approved / cap' }),
      el('th', { class: 'n', text: 'Waitlisted' }), el('th', { class: 'n', text: 'Pending' }),
      el('th', { class: 'hide-narrow', text: 'Status' }))),
    body)));
  const rows = new Map();
  state.pageRefresh = (o) => {
    document.getElementById('stat-pending').textContent = num(o.pending);
    document.getElementById('stat-waitlisted').textContent = num(o.waitlisted);
    document.getElementById('stat-rate').textContent = num(Math.round(o.decided_per_second));
    document.getElementById('stat-oldest').textContent = age(o.oldest_pending_age_s);
    document.getElementById('stat-workers').textContent =
      `${num(o.workers.alive)}${o.workers.gone ? ` (${num(o.workers.gone)} gone)` : ''}`;
    document.getElementById('stat-failed').textContent = num(o.failed);
    lineChart(chart, [{ points: o.rate, color: '#0969da' }], { yLabel: 'decided per second' });
    const seen = new Set();
    for (const c of o.campaigns) {
      seen.add(c.id);
      let row = rows.get(c.id);
      if (!row) {
        const bar = fillBar();
        row = el('tr', { 'data-campaign': c.id },
          el('td', {}, el('a', { href: `#/campaign/${c.id}` })), el('td', {}, bar),
          el('td', { class: 'n' }), el('td', { class: 'n' }), el('td', { class: 'hide-narrow' }));
        row.bar = bar;
        rows.set(c.id, row);
      }
      row.cells[0].firstChild.textContent = c.name;
      row.bar.update(c.approved, c.cap);
      row.cells[2].textContent = num(c.waitlisted);
      row.cells[3].textContent = num(c.pending);
      row.cells[4].textContent = c.stalled ? `${c.status}, stalled` : c.status;
      body.append(row);  // keeps id order; moves nothing that is in place
    }
    for (const [id, row] of rows) {
      if (!seen.has(id)) { row.remove(); rows.delete(id); }
    }
    if (o.campaigns.length === 0 && !body.querySelector('.empty')) {
      body.append(el('tr', { class: 'empty' }, el('td', { colspan: 5, class: 'muted', text: 'No open campaigns.' })));
    } else if (o.campaigns.length > 0) {
      body.querySelectorAll('.empty').forEach((r) => r.remove());
    }
  };
}

function applicationRow(a, { retry } = {}) {
  const cells = [
    el('td', { class: 'n', text: a.id }),
    el('td', { text: a.status + (a.reason ? ` (${a.reason})` : '') }),
  ];
  if ('user_id' in a) cells.push(el('td', { text: a.user_id }));
  cells.push(el('td', { class: 'n', text: a.attempts }));
  cells.push(el('td', { class: 'hide-narrow', text: time(a.created_ms) }));
  cells.push(el('td', { class: 'hide-narrow', text: time(a.decided_ms) }));
  if (retry !== undefined) {
    cells.splice(1, 0, el('td', {}, el('a', { href: `#/campaign/${a.campaign_id}`, text: a.campaign_id })));
    cells.push(el('td', { class: 'err', text: 'last_error' in a ? a.last_error : '(hidden)' }));
    cells.push(el('td', {}, retry));
  }
  return el('tr', { 'data-application': a.id, 'data-status': a.status }, ...cells);
}

function applicationHead(showUser, failed) {
  const heads = [el('th', { class: 'n', text: 'Id' }), el('th', { text: 'Status' })];
  if (failed) heads.splice(1, 0, el('th', { text: 'Campaign' }));
  if (showUser) heads.push(el('th', { text: 'User' }));
  heads.push(el('th', { class: 'n', text: 'Attempts' }), el('th', { class: 'hide-narrow', text: 'Applied' }),
    el('th', { class: 'hide-narrow', text: 'Decided' }));
  if (failed) heads.push(el('th', { text: 'Last error' }), el('th', { text: 'Action' }));
  return el('thead', {}, el('tr', {}, ...heads));
}

// A paged list: load(token) returns {applications, next_page_token}.
function pagedTable(container, load, { failed = false, actions = [] } = {}) {
  const tokens = [''];
  let index = 0;
  const body = el('tbody');
  const table = el('table', {}, applicationHead(state.me && state.me.sees_user_ids, failed), body);
  const info = el('span', { class: 'muted num' });
  const prev = el('button', { type: 'button', text: 'Previous page', onclick: () => { index -= 1; show(); } });
  const next = el('button', { type: 'button', text: 'Next page', onclick: () => { index += 1; show(); } });
  container.replaceChildren(el('div', { class: 'table-wrap' }, table), el('div', { class: 'pager' }, prev, next, info));
  async function show() {
    try {
      const page = await load(tokens[index]);
      tokens[index + 1] = page.next_page_token;
      body.replaceChildren(...page.applications.map((a) => applicationRow(a, failed ? {
        retry: actions.includes('retry') ? el('button', { type: 'button', text: 'Retry',
          onclick: () => act(`/api/applications/${a.id}/retry`, `Application ${a.id} back to pending.`, show) })
          : el('span', { class: 'muted', text: '—' }),
      } : {})));
      if (page.applications.length === 0) {
        body.append(el('tr', {}, el('td', { colspan: 9, class: 'muted', text: 'Nothing here.' })));
      }
      prev.disabled = index === 0;
      next.disabled = !page.next_page_token;
      info.textContent = `page ${index + 1}`;
    } catch (error) { toast(error.message); }
  }
  show();
  return show;
}

// POSTs an action; `done` is the message, or a function of the reply.
async function act(path, done, then) {
  try {
    const reply = await api(path, 'POST');
    toast(typeof done === 'function' ? done(reply) : done);
    if (then) then();
  } catch (error) { toast(error.message); }
}

async function renderCampaign(main, id) {
  const detail = await api(`/api/campaigns/${id}`);
  const c = detail.campaign;
  main.append(el('h1', { id: 'campaign-title', text: `Campaign ${c.id}: ${c.name}` }));
  const bar = fillBar();
  bar.update(c.approved, c.cap);
  const counts = el('p', { class: 'num', id: 'campaign-counts' });
  main.append(el('div', { class: 'tiles' },
    el('div', { class: 'tile' }, el('span', { class: 'label', text: 'Approved / cap' }), bar),
    el('div', { class: 'tile' }, el('span', { class: 'label', text: 'Status' }),
      el('span', { class: 'value', id: 'campaign-status', text: c.paused ? `${c.status}, paused` : c.status })),
    el('div', { class: 'tile' }, el('span', { class: 'label', text: 'Created' }),
      el('span', { class: 'value small', text: time(c.created_ms) }))));
  main.append(counts);
  const actions = el('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' });
  const reload = () => route();
  const can = detail.actions;
  if (c.status === 'open' && can.includes('close')) {
    actions.append(el('button', { type: 'button', class: 'danger', text: 'Close campaign…', onclick: () => {
      if (window.confirm(`Close campaign ${c.id} (${c.name})? Its pending and waitlisted applications are rejected. This cannot be undone.`)) {
        act(`/api/campaigns/${c.id}/close`, `Campaign ${c.id} closed.`, reload);
      }
    } }));
  }
  if (c.status === 'open' && !c.paused && can.includes('pause')) {
    actions.append(el('button', { type: 'button', text: 'Pause', onclick: () => act(`/api/campaigns/${c.id}/pause`, 'Paused.', reload) }));
  }
  if (c.status === 'open' && c.paused && can.includes('resume')) {
    actions.append(el('button', { type: 'button', text: 'Resume', onclick: () => act(`/api/campaigns/${c.id}/resume`, 'Resumed.', reload) }));
  }
  if (c.status === 'open' && can.includes('retry-failed')) {
    actions.append(el('button', { type: 'button', text: 'Retry failed', onclick: () => act(`/api/campaigns/${c.id}/retry-failed`, (r) => `${r.retried} failed applications back to pending.`, reload) }));
  }
  if (actions.childElementCount === 0) {
    actions.append(el('span', { class: 'muted', text: state.me && state.me.may_act ? 'No actions for this campaign.' : 'Actions need the admin role.' }));
  }
  main.append(actions);
  const series = [
    { label: 'approved', color: '#1a7f37', style: '', idx: 1 },
    { label: 'waitlisted', color: '#9a6700', style: 'dash', dash: '6 4', idx: 2 },
    { label: 'pending', color: '#0969da', style: 'dot', dash: '2 3', idx: 3 },
  ];
  const chart = el('div', { id: 'fill-chart' });
  main.append(el('section', { class: 'chart', 'aria-labelledby': 'fill-title' },
    el('h2', { id: 'fill-title', text: 'Fill over time' }), chart, legend(series)));
  let fill = detail.fill;
  const draw = () => lineChart(chart, series.map((s) => ({ ...s, points: fill.map((p) => [p[0], p[s.idx]]) })),
    { yLabel: 'applications', minY: c.cap || 1 });
  draw();
  const showCounts = (k) => {
    counts.textContent = k ? `${num(k.approved)} approved · ${num(k.waitlisted)} waitlisted · ${num(k.pending)} pending` : '';
  };
  showCounts(detail.counts);

  main.append(el('h2', { text: 'Applications' }));
  const select = el('select', { id: 'status-filter' },
    ...['all', 'pending', 'approved', 'waitlisted', 'rejected', 'cancelled', 'failed'].map((s) => el('option', { value: s, text: s })));
  main.append(el('div', { class: 'filters' }, el('label', { for: 'status-filter', text: 'Status' }), select));
  const list = el('div');
  main.append(list);
  const load = () => pagedTable(list, (token) => api(`/api/campaigns/${c.id}/applications?status=${select.value}&page_size=25&page_token=${encodeURIComponent(token)}`));
  select.addEventListener('change', load);
  load();
  state.pageRefresh = (o) => {
    const k = o.campaigns.find((x) => x.id === c.id);
    if (!k) return;
    bar.update(k.approved, k.cap);
    showCounts(k);
    fill = fill.concat([[o.time_ms, k.approved, k.waitlisted, k.pending]]);
    draw();
  };
}

async function renderWorkers(main) {
  main.append(el('h1', { text: 'Workers' }));
  const body = el('tbody', { id: 'worker-rows' });
  const note = el('p', { class: 'muted' });
  main.append(note, el('div', { class: 'table-wrap' }, el('table', {},
    el('thead', {}, el('tr', {}, ...['State', 'Host', 'Pid', 'Lock mode', 'Threads', 'Started', 'Last heartbeat',
      'Decided (1 min)', 'Errors (1 min)'].map((h, i) => el('th', { class: i >= 2 && i !== 3 && i !== 5 && i !== 6 ? 'n' : '', text: h })))),
    body)));
  const show = async () => {
    try {
      const data = await api('/api/workers');
      note.textContent = `A worker beats every few seconds; after ${data.gone_after_intervals} missed beats it shows as gone.`;
      body.replaceChildren(...data.workers.map((w) => el('tr', { 'data-worker': w.id, 'data-state': w.state },
        el('td', {}, el('span', { class: `state ${w.state}`, text: w.state })),
        el('td', { text: w.host }), el('td', { class: 'n', text: w.pid }), el('td', { text: w.lock_mode }),
        el('td', { class: 'n', text: w.threads }), el('td', { text: time(w.started_ms) }),
        el('td', { text: `${time(w.last_seen_ms)} (${age(w.seen_ago_s)} ago)` }),
        el('td', { class: 'n', text: num(w.decided_last_minute) }),
        el('td', { class: 'n', text: num(w.errors_last_minute) }))));
      if (data.workers.length === 0) body.append(el('tr', {}, el('td', { colspan: 9, class: 'muted', text: 'No worker has reported.' })));
    } catch (error) { toast(error.message); }
  };
  await show();
  state.pageRefresh = show;  // one read per snapshot, never a timer of its own
}

async function renderFailed(main) {
  main.append(el('h1', { text: 'Failed applications' }));
  const actions = (state.me && state.me.actions) || [];
  const bar = el('div', { class: 'actions' });
  main.append(el('p', { class: 'muted', text: 'Applications a deterministic error kept from being decided. Retrying puts them back to pending, in their original order.' }), bar);
  const list = el('div');
  main.append(list);
  const show = pagedTable(list, (token) => api(`/api/failed?page_size=50&page_token=${encodeURIComponent(token)}`),
    { failed: true, actions: actions.includes('retry-application') ? ['retry'] : [] });
  if (actions.includes('retry-failed')) {
    bar.append(el('button', { type: 'button', id: 'retry-all', text: 'Retry all failed', onclick: () => {
      if (window.confirm('Put every failed application of every open campaign back to pending?')) {
        act('/api/failed/retry-all', (r) => `${r.retried} failed applications back to pending.`, () => show());
      }
    } }));
  } else {
    bar.append(el('span', { class: 'muted', text: state.me && state.me.may_act ? 'Retry is not available in this build.' : 'Retry needs the admin role.' }));
  }
  let lastFailed = state.overview ? state.overview.failed : null;
  state.pageRefresh = (o) => {
    if (o.failed !== lastFailed) { lastFailed = o.failed; show(); }
  };
}

// --- router -----------------------------------------------------------------------
async function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [name, id] = hash.split('/');
  const page = name === 'campaign' ? 'campaign' : name === 'workers' ? 'workers' : name === 'failed' ? 'failed' : 'overview';
  document.querySelectorAll('[data-nav]').forEach((a) => {
    if (a.dataset.nav === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  });
  const main = document.getElementById('main');
  main.replaceChildren();
  main.dataset.page = page;
  state.pageRefresh = null;
  try {
    if (page === 'campaign') await renderCampaign(main, Number(id));
    else if (page === 'workers') await renderWorkers(main);
    else if (page === 'failed') await renderFailed(main);
    else renderOverview(main);
    document.title = `${main.querySelector('h1').textContent} · campaignq`;
    if (state.overview && state.pageRefresh && page === 'overview') state.pageRefresh(state.overview);
  } catch (error) {
    main.append(el('p', { role: 'alert', text: error.message }));
  }
}

async function start() {
  try { state.me = await api('/api/whoami'); } catch (error) { toast(error.message); }
  route();
  stream();
}

window.addEventListener('hashchange', () => { route(); document.getElementById('main').focus(); });
start();
