// The stratus dashboard (docs/dashboard.md). Plain ES module, no dependencies.
//
// Safety rules this file keeps:
// - Every string from the server (names, headers, bodies, error texts) reaches the page as a
//   text node or a property (textContent, value); nothing is ever parsed as HTML.
// - The token the user types lives in sessionStorage and goes out as an Authorization header.
// - In read-only mode no control that changes something is drawn, and api() itself refuses
//   any method but GET.

const TOKEN_KEY = 'stratus.token';
const WHERE_KEY = 'stratus.where';
const POLL_MS = 1500;

let config = { mode: 'on', tokenRequired: false };
const readOnly = () => config.mode === 'read-only';

// ---------------------------------------------------------------- DOM helpers (text only)

// h('td', {class: 'num', dataset: {col: 'depth'}}, 'text', node, ...): strings become text nodes.
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'href') el.href = safeHref(v);
    else el[k] = v;
  }
  append(el, children);
  return el;
}
function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}
// Only the dashboard's own hash links are ever put in an href.
function safeHref(v) {
  return typeof v === 'string' && v.startsWith('#/') ? v : '#/';
}
const main = () => document.getElementById('main');

function toast(message) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 8000);
}

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  if (readOnly() && method !== 'GET') throw new ApiError(0, 'This dashboard is read-only (--ui read-only).');
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : {}; } catch { json = null; }
  if (!res.ok) {
    const msg = json && json.error && json.error.message ? json.error.message : (text || res.statusText);
    if (res.status === 401 && config.tokenRequired) askToken(msg);
    throw new ApiError(res.status, msg);
  }
  return json;
}

const where = () => currentWhere;
let currentWhere = { project: 'local', location: 'us-central1' };
const locPath = (w = where()) => `projects/${enc(w.project)}/locations/${enc(w.location)}`;
const enc = encodeURIComponent;
const queuePath = (q) => `${locPath()}/queues/${enc(q)}`;
const shortName = (name) => String(name).split('/').pop();

// ---------------------------------------------------------------- formatting

function fmtNum(v, digits = 0) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
function fmtSeconds(v) {
  if (v === null || v === undefined) return '–';
  if (v === 0) return '0 s';
  if (v < 1) return `${fmtNum(v * 1000, 1)} ms`;
  if (v < 120) return `${fmtNum(v, 1)} s`;
  if (v < 7200) return `${fmtNum(v / 60, 1)} min`;
  return `${fmtNum(v / 3600, 1)} h`;
}
function fmtTime(t) {
  if (!t) return '–';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
function b64bytes(b64) {
  const bin = atob(b64 || '');
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
function hexDump(bytes) {
  const lines = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.slice(i, i + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${i.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}
// A body viewer: pretty JSON when it parses, text when it is UTF-8, hex otherwise; with buttons.
function bodyView(b64, label = 'Body') {
  const bytes = b64bytes(b64);
  let text = null;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { text = null; }
  let pretty = null;
  if (text !== null) { try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch { pretty = null; } }
  const views = {};
  if (pretty !== null) views.JSON = pretty;
  if (text !== null) views.Text = text;
  views.Hex = hexDump(bytes);
  const pre = h('pre', { class: 'body mono', dataset: { body: label } });
  const bar = h('div', { class: 'toolbar' }, h('strong', {}, label), h('span', { class: 'muted' }, `${bytes.length} bytes`));
  const show = (k) => { pre.textContent = views[k]; pre.dataset.view = k; };
  for (const k of Object.keys(views)) bar.append(h('button', { type: 'button', onclick: () => show(k) }, k));
  show(Object.keys(views)[0]);
  return h('div', {}, bar, bytes.length ? pre : h('p', { class: 'muted' }, '(empty)'));
}
function headersTable(headers) {
  const rows = Object.entries(headers || {});
  if (!rows.length) return h('p', { class: 'muted' }, '(none)');
  return h('table', { class: 'headers' }, h('tr', {}, h('th', {}, 'Header'), h('th', {}, 'Value')),
    rows.map(([k, v]) => h('tr', {}, h('td', { class: 'mono' }, k), h('td', { class: 'mono' }, v))));
}
function kv(pairs) {
  return h('div', { class: 'grid2' }, pairs.flatMap(([k, v]) => [h('div', { class: 'k' }, k), h('div', {}, v)]));
}
function confirmAction(text) { return window.confirm(text); }

// ---------------------------------------------------------------- pages

let pageTimers = [];
// Runs fn now and then every `ms` until the page changes; a failure is shown in the page's
// #problem line (cleared by the next success) and the polling goes on.
function every(ms, fn) {
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    const problem = document.getElementById('problem');
    try {
      await fn();
      if (problem) problem.textContent = '';
    } catch (e) {
      if (problem && !(e instanceof ApiError && e.status === 401)) problem.textContent = e.message;
    }
    if (!stopped) t.id = setTimeout(tick, ms);
  };
  const t = { id: 0, stop: () => { stopped = true; clearTimeout(t.id); } };
  pageTimers.push(t);
  tick();
}
function stopTimers() { pageTimers.forEach((t) => t.stop()); pageTimers = []; }

function crumbs(...parts) {
  const nav = document.getElementById('crumbs');
  nav.replaceChildren();
  const base = `#/${locPath()}`;
  const items = [[`${where().project} / ${where().location}`, base], ...parts];
  items.forEach(([label, href], i) => {
    if (i) nav.append(' › ');
    nav.append(href ? h('a', { href }, label) : h('span', {}, label));
  });
}

// Overview: every queue of the location, live.
const OVERVIEW_COLS = [
  ['queue', 'Queue', false], ['state', 'State', false], ['depth', 'Depth', true], ['inFlight', 'In flight', true],
  ['oldestAgeSeconds', 'Oldest task', true], ['dispatchedPerMinute', 'Dispatched/min', true],
  ['succeededPerMinute', 'Succeeded/min', true], ['failedPerMinute', 'Failed/min', true],
  ['deadLetters', 'Dead letters', true], ['latencyP95', 'Latency p95', true],
];
let overviewSort = { col: 'queue', dir: 1 };

function overviewPage() {
  crumbs();
  const tbody = h('tbody', {});
  const head = h('tr', {});
  const status = h('p', { class: 'muted', id: 'overview-status' });
  let rows = [];
  const dead = new Map();
  const render = () => {
    head.replaceChildren(...OVERVIEW_COLS.map(([key, label, num]) => {
      const cls = ['sortable', num ? 'num' : '', overviewSort.col === key ? (overviewSort.dir > 0 ? 'sorted-asc' : 'sorted-desc') : ''];
      return h('th', { class: cls.join(' '), dataset: { col: key }, onclick: () => {
        overviewSort = { col: key, dir: overviewSort.col === key ? -overviewSort.dir : 1 };
        render();
      } }, label);
    }));
    const value = (r, key) => (key === 'deadLetters' ? dead.get(r.queue) ?? -1 : key === 'queue' ? shortName(r.queue) : r[key]);
    const sorted = [...rows].sort((a, b) => {
      const x = value(a, overviewSort.col), y = value(b, overviewSort.col);
      const c = typeof x === 'string' ? String(x).localeCompare(String(y)) : (x ?? -1) - (y ?? -1);
      return c * overviewSort.dir;
    });
    tbody.replaceChildren(...sorted.map((r) => {
      const id = shortName(r.queue);
      const d = dead.get(r.queue);
      const cell = (col, text, num = true) => h('td', { class: num ? 'num' : '', dataset: { col } }, text);
      return h('tr', { dataset: { queue: id } },
        h('td', { dataset: { col: 'queue' } }, h('a', { href: `#/${queuePath(id)}` }, id)),
        h('td', { class: `state-${r.state}`, dataset: { col: 'state' } }, r.state),
        cell('depth', r.tracked ? fmtNum(r.depth) : '–'),
        cell('inFlight', r.tracked ? fmtNum(r.inFlight) : '–'),
        cell('oldestAgeSeconds', r.tracked ? fmtSeconds(r.oldestAgeSeconds) : '–'),
        cell('dispatchedPerMinute', r.tracked ? fmtNum(r.dispatchedPerMinute) : '–'),
        cell('succeededPerMinute', r.tracked ? fmtNum(r.succeededPerMinute) : '–'),
        cell('failedPerMinute', r.tracked ? fmtNum(r.failedPerMinute) : '–'),
        cell('deadLetters', d === undefined ? '…' : d >= 5000 ? '5,000+' : fmtNum(d)),
        cell('latencyP95', r.tracked ? fmtSeconds(r.latencyP95) : '–'));
    }));
    status.textContent = rows.length ? `${rows.length} queue(s), updated ${new Date().toLocaleTimeString()}` : 'No queues in this location.';
  };
  main().replaceChildren(h('h1', {}, 'Queues'), status, h('table', { id: 'queues' }, h('thead', {}, head), tbody));
  // The dead-letter count is not in the stats (it is not kept in memory): counted by listing,
  // at most every 5 s and up to 5,000 per queue.
  let counted = 0;
  const countDead = async () => {
    for (const r of rows) {
      let n = 0, token = '';
      do {
        const j = await api('GET', `/stratus/v1/${r.queue}/deadLetters?pageSize=1000${token ? '&pageToken=' + enc(token) : ''}`);
        n += (j.deadLetters || []).length;
        token = j.nextPageToken || '';
      } while (token && n < 5000);
      dead.set(r.queue, n);
    }
  };
  every(POLL_MS, async () => {
    const j = await api('GET', `/stratus/v1/${locPath()}/queueStats`);
    rows = j.queues || [];
    if (Date.now() - counted > 5000) {
      counted = Date.now();
      await countDead();
    }
    render();
  });
}

// ---------------------------------------------------------------- charts (canvas)

const COLORS = { created: '#8250df', dispatched: '#1f6feb', succeeded: '#1a7f37', failed: '#cf222e',
  latencyP50: '#1f6feb', latencyP95: '#bc4c00', latenessP95: '#8250df', depth: '#1f6feb', inFlight: '#bf8700' };

function drawChart(canvas, times, series, fmt) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 400, hgt = canvas.clientHeight || 170;
  canvas.width = Math.round(w * dpr); canvas.height = Math.round(hgt * dpr);
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, hgt);
  const left = 56, right = 8, top = 8, bottom = 20;
  let max = 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
  max = niceMax(max);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#5b6470'; g.strokeStyle = '#e3e7eb'; g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = top + (hgt - top - bottom) * (1 - i / 4);
    g.beginPath(); g.moveTo(left, y); g.lineTo(w - right, y); g.stroke();
    g.textAlign = 'right'; g.textBaseline = 'middle';
    g.fillText(fmt(max * i / 4), left - 6, y);
  }
  const n = times.length;
  const x = (i) => left + (w - left - right) * (n <= 1 ? 1 : i / (n - 1));
  g.textAlign = 'center'; g.textBaseline = 'top';
  for (let k = 0; k <= 4 && n > 1; k++) {
    const i = Math.round((n - 1) * k / 4);
    const d = new Date(times[i]);
    g.textAlign = k === 0 ? 'left' : k === 4 ? 'right' : 'center';
    g.fillText(d.toTimeString().slice(0, n > 400 ? 5 : 8), x(i), hgt - bottom + 4);
  }
  for (const s of series) {
    g.strokeStyle = s.color; g.lineWidth = 1.5; g.beginPath();
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null) { pen = false; return; }
      const y = top + (hgt - top - bottom) * (1 - v / max);
      if (pen) g.lineTo(x(i), y); else g.moveTo(x(i), y);
      pen = true;
    });
    g.stroke();
  }
}
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 4, 6, 8, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}
function chartCard(title, keys) {
  const canvas = h('canvas', {});
  const legend = h('div', { class: 'legend' }, keys.map((k) => {
    const s = h('span', {}, k);
    s.style.setProperty('--swatch', COLORS[k]);
    return s;
  }));
  return { el: h('div', { class: 'chart' }, h('h3', {}, title), legend, canvas), canvas, keys };
}

// ---------------------------------------------------------------- a queue

const RATE_FIELDS = [['rateLimits', 'maxDispatchesPerSecond', 'Max dispatches per second'],
  ['rateLimits', 'maxConcurrentDispatches', 'Max concurrent dispatches']];
const RETRY_FIELDS = [['retryConfig', 'maxAttempts', 'Max attempts'], ['retryConfig', 'maxRetryDuration', 'Max retry duration'],
  ['retryConfig', 'minBackoff', 'Min backoff'], ['retryConfig', 'maxBackoff', 'Max backoff'],
  ['retryConfig', 'maxDoublings', 'Max doublings']];
const NUMERIC = new Set(['maxDispatchesPerSecond', 'maxConcurrentDispatches', 'maxAttempts', 'maxDoublings']);

function queuePage(q) {
  crumbs([q, null]);
  const name = `/v2/${queuePath(q)}`;
  const title = h('h1', {}, q, ' ', h('span', { id: 'queue-state' }, ''));
  const actions = h('div', { class: 'toolbar', id: 'queue-actions' });
  const windowSel = h('select', { id: 'window' }, h('option', { value: '3600:10' }, 'last hour'),
    h('option', { value: '900:5' }, 'last 15 minutes'), h('option', { value: '300:1' }, 'last 5 minutes'));
  const charts = [chartCard('Tasks per second', ['created', 'dispatched', 'succeeded', 'failed']),
    chartCard('Attempt latency', ['latencyP50', 'latencyP95']), chartCard('Dispatch lateness', ['latenessP95']),
    chartCard('Depth', ['depth', 'inFlight'])];
  const configBox = h('div', { id: 'config' });
  main().replaceChildren(title,
    h('div', { class: 'toolbar' }, h('a', { href: `#/${queuePath(q)}/tasks` }, 'Tasks'), ' · ',
      h('a', { href: `#/${queuePath(q)}/deadLetters` }, 'Dead letters'), ' · ', windowSel),
    actions, h('div', { class: 'charts' }, charts.map((c) => c.el)), h('h2', {}, 'Configuration'), configBox);
  windowSel.addEventListener('change', () => refreshStats());

  let queue = null;
  const drawActions = () => {
    actions.replaceChildren();
    if (readOnly() || !queue) return;
    const act = async (verb, question) => {
      if (question && !confirmAction(question)) return;
      try { queue = await api('POST', `${name}:${verb}`, {}); drawQueue(); } catch (e) { toast(e.message); }
    };
    if (queue.state === 'PAUSED') actions.append(h('button', { id: 'resume', onclick: () => act('resume') }, 'Resume'));
    else actions.append(h('button', { id: 'pause', onclick: () => act('pause', `Pause queue ${q}? Nothing is dispatched until it is resumed.`) }, 'Pause'));
    actions.append(h('button', { id: 'purge', class: 'danger', onclick: () => act('purge', `Purge queue ${q}? Every task in it is deleted.`) }, 'Purge'));
  };
  const drawQueue = () => {
    const st = document.getElementById('queue-state');
    st.textContent = queue.state; st.className = `state-${queue.state}`;
    drawActions();
    drawConfig();
  };
  const drawConfig = () => {
    const inputs = {};
    const msg = h('div', { id: 'config-message' });
    const form = h('form', { class: 'config', id: 'config-form' });
    for (const [group, key, label] of [...RATE_FIELDS, ...RETRY_FIELDS]) {
      const v = (queue[group] || {})[key];
      const input = h('input', { name: key, value: v === undefined ? '' : String(v), disabled: readOnly() });
      inputs[key] = [group, input, v === undefined ? '' : String(v)];
      form.append(h('label', { htmlFor: key }, label), input);
    }
    form.append(h('span', { class: 'muted' }, 'Max burst size'), h('span', {}, fmtNum((queue.rateLimits || {}).maxBurstSize)));
    if (!readOnly()) {
      form.append(h('span', {}), h('button', { type: 'submit', id: 'save-config' }, 'Save'));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const body = {}, mask = [];
        for (const [key, [group, input, before]] of Object.entries(inputs)) {
          if (input.value.trim() === before) continue;
          let v = input.value.trim();
          if (NUMERIC.has(key) && v !== '' && !Number.isNaN(Number(v))) v = Number(v);
          (body[group] = body[group] || {})[key] = v;
          mask.push(`${group}.${key}`);
        }
        if (!mask.length) { msg.className = 'muted'; msg.textContent = 'Nothing changed.'; return; }
        try {
          queue = await api('PATCH', `${name}?updateMask=${enc(mask.join(','))}`, body);
          drawQueue();
          const m = document.getElementById('config-message');
          m.className = 'okmsg'; m.textContent = 'Saved.';
        } catch (e) { msg.className = 'error'; msg.textContent = e.message; }
      });
    }
    configBox.replaceChildren(form, msg);
  };
  const refreshQueue = async () => {
    const fresh = await api('GET', name);
    const changed = !queue || fresh.state !== queue.state;
    const first = !queue;
    queue = fresh;
    if (first) drawQueue();
    else if (changed) { const st = document.getElementById('queue-state'); st.textContent = queue.state; st.className = `state-${queue.state}`; drawActions(); }
  };
  const refreshStats = async () => {
    const [seconds, step] = windowSel.value.split(':').map(Number);
    const j = await api('GET', `/stratus/v1/${queuePath(q)}/stats?seconds=${seconds}&step=${step}`);
    const pts = j.points || [];
    const times = pts.map((p) => p.time);
    for (const c of charts) {
      const rate = c.keys[0] === 'created';
      const series = c.keys.map((k) => ({ color: COLORS[k], values: pts.map((p) => (p[k] === null ? null : rate ? p[k] / step : p[k])) }));
      const fmt = rate ? (v) => fmtNum(v, 1) : c.keys[0] === 'depth' ? (v) => fmtNum(v) : fmtSeconds;
      drawChart(c.canvas, times, series, fmt);
    }
  };
  every(POLL_MS, async () => { await refreshQueue(); });
  every(2000, refreshStats);
}

// ---------------------------------------------------------------- tasks

function taskState(t) {
  if ((t.responseCount || 0) > 0) return 'retrying';
  if (t.lastAttempt && t.lastAttempt.dispatchTime && !t.lastAttempt.responseTime) return 'running';
  return 'pending';
}
function statusText(s) {
  return s ? s.message || `code ${s.code ?? 0}` : '–';
}
function lastStatus(t) {
  return statusText(t.lastAttempt && t.lastAttempt.responseStatus);
}

function tasksPage(q, params) {
  crumbs([q, `#/${queuePath(q)}`], ['Tasks', null]);
  const filter = params.get('filter') || 'all';
  const findInput = h('input', { id: 'find-id', placeholder: 'task id', size: 30 });
  const findMsg = h('span', { class: 'error', id: 'find-message' });
  const filterSel = h('select', { id: 'filter' }, ['all', 'pending', 'retrying', 'dead'].map((f) => h('option', { value: f, selected: f === filter }, f)));
  filterSel.addEventListener('change', () => {
    location.hash = filterSel.value === 'dead' ? `#/${queuePath(q)}/deadLetters` : `#/${queuePath(q)}/tasks?filter=${filterSel.value}`;
  });
  const find = async (ev) => {
    ev.preventDefault();
    const id = findInput.value.trim();
    if (!id) return;
    findMsg.textContent = '';
    try {
      await api('GET', `/v2/${queuePath(q)}/tasks/${enc(id)}`);
      location.hash = `#/${queuePath(q)}/tasks/${enc(id)}`;
    } catch (e) {
      try {
        await api('GET', `/stratus/v1/${queuePath(q)}/deadLetters/${enc(id)}`);
        location.hash = `#/${queuePath(q)}/deadLetters/${enc(id)}`;
      } catch { findMsg.textContent = e.message; }
    }
  };
  const tbody = h('tbody', {});
  const status = h('p', { class: 'muted', id: 'tasks-status' });
  const tokens = [''];
  let pageIndex = 0;
  const prev = h('button', { id: 'prev', onclick: () => { if (pageIndex > 0) { pageIndex--; load(); } } }, '‹ Previous');
  const next = h('button', { id: 'next', onclick: () => { if (tokens[pageIndex + 1]) { pageIndex++; load(); } } }, 'Next ›');
  main().replaceChildren(h('h1', {}, `Tasks of ${q}`),
    h('form', { class: 'toolbar', onsubmit: find }, 'Find', findInput, h('button', { type: 'submit' }, 'Find'), findMsg),
    h('div', { class: 'toolbar' }, 'Show', filterSel, prev, next, status),
    h('table', { id: 'tasks' }, h('thead', {}, h('tr', {}, ['Task', 'State', 'Schedule time', 'Created', 'Dispatches', 'Responses', 'Last status', ''].map((c) => h('th', {}, c)))), tbody));
  const load = async () => {
    const token = tokens[pageIndex];
    const j = await api('GET', `/v2/${queuePath(q)}/tasks?pageSize=50&responseView=BASIC${token ? '&pageToken=' + enc(token) : ''}`);
    tokens[pageIndex + 1] = j.nextPageToken || '';
    let tasks = j.tasks || [];
    if (filter !== 'all') tasks = tasks.filter((t) => taskState(t) === filter);
    prev.disabled = pageIndex === 0;
    next.disabled = !tokens[pageIndex + 1];
    status.textContent = `page ${pageIndex + 1}: ${tasks.length} task(s)${filter !== 'all' ? ' ' + filter : ''}`;
    tbody.replaceChildren(...tasks.map((t) => {
      const id = shortName(t.name);
      const ops = h('td', {});
      if (!readOnly()) {
        ops.append(h('button', { class: 'run', onclick: async () => {
          try { await api('POST', `/v2/${t.name}:run`, {}); load(); } catch (e) { toast(e.message); } } }, 'Run now'), ' ',
        h('button', { class: 'danger delete', onclick: async () => {
          if (!confirmAction(`Delete task ${id}?`)) return;
          try { await api('DELETE', `/v2/${t.name}`); load(); } catch (e) { toast(e.message); } } }, 'Delete'));
      }
      return h('tr', { dataset: { task: id } }, h('td', { class: 'mono' }, h('a', { href: `#/${queuePath(q)}/tasks/${enc(id)}` }, id)),
        h('td', {}, taskState(t)), h('td', {}, fmtTime(t.scheduleTime)), h('td', {}, fmtTime(t.createTime)),
        h('td', { class: 'num' }, fmtNum(t.dispatchCount || 0)), h('td', { class: 'num' }, fmtNum(t.responseCount || 0)),
        h('td', {}, lastStatus(t)), ops);
    }));
  };
  // The first page follows new tasks live; later pages stay put while read.
  every(2000, async () => { if (pageIndex === 0) await load(); });
}

function attemptsTable(t) {
  const rows = [['First attempt', t.firstAttempt], ['Last attempt', t.lastAttempt]].filter(([, a]) => a);
  if (!rows.length) return h('p', { class: 'muted' }, 'Not attempted yet.');
  return h('table', { id: 'attempts' }, h('tr', {}, ['Attempt', 'Scheduled', 'Dispatched', 'Answered', 'Status'].map((c) => h('th', {}, c))),
    rows.map(([label, a]) => h('tr', {}, h('td', {}, label), h('td', {}, fmtTime(a.scheduleTime)), h('td', {}, fmtTime(a.dispatchTime)),
      h('td', {}, fmtTime(a.responseTime)), h('td', {}, statusText(a.responseStatus)))));
}
function taskDetail(t) {
  const req = t.httpRequest || t.appEngineHttpRequest || {};
  return [kv([['Name', h('span', { class: 'mono' }, t.name)], ['Schedule time', fmtTime(t.scheduleTime)], ['Created', fmtTime(t.createTime)],
    ['Target', `${req.httpMethod || 'POST'} ${req.url || req.relativeUri || ''}`], ['Dispatch deadline', t.dispatchDeadline || '–'],
    ['Dispatches', fmtNum(t.dispatchCount || 0)], ['Responses', fmtNum(t.responseCount || 0)]]),
  h('h2', {}, 'Attempts'), attemptsTable(t),
  h('p', { class: 'muted' }, `The API keeps the first and the last attempt; dispatches counts them all (${t.dispatchCount || 0}).`),
  h('h2', {}, 'Headers'), headersTable(req.headers), h('h2', {}, 'Body'), bodyView(req.body, 'Task body')];
}

function taskPage(q, id) {
  crumbs([q, `#/${queuePath(q)}`], ['Tasks', `#/${queuePath(q)}/tasks`], [id, null]);
  const name = `/v2/${queuePath(q)}/tasks/${enc(id)}`;
  const box = h('div', {});
  const actions = h('div', { class: 'toolbar' });
  main().replaceChildren(h('h1', {}, `Task ${id}`), actions, box);
  if (!readOnly()) {
    actions.append(h('button', { id: 'run-task', onclick: async () => {
      try { await api('POST', `${name}:run`, {}); load(); } catch (e) { toast(e.message); } } }, 'Run now'),
    h('button', { id: 'delete-task', class: 'danger', onclick: async () => {
      if (!confirmAction(`Delete task ${id}?`)) return;
      try { await api('DELETE', name); location.hash = `#/${queuePath(q)}/tasks`; } catch (e) { toast(e.message); } } }, 'Delete'));
  }
  const load = async () => {
    try {
      const t = await api('GET', `${name}?responseView=FULL`);
      box.replaceChildren(...taskDetail(t));
    } catch (e) { box.replaceChildren(h('p', { class: 'error' }, e.message)); }
  };
  load();
}

// ---------------------------------------------------------------- dead letters

// Runs `fn` over `items`, four at a time, drawing done/total in `bar` and `label`.
async function batch(items, fn, bar, label, verb) {
  let done = 0, failed = 0, next = 0;
  bar.hidden = false; bar.max = items.length || 1; bar.value = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try { await fn(item); } catch { failed++; }
      done++;
      bar.value = done;
      label.textContent = `${verb} ${done} / ${items.length}${failed ? ` (${failed} failed)` : ''}`;
    }
  };
  label.textContent = `${verb} 0 / ${items.length}`;
  await Promise.all([worker(), worker(), worker(), worker()]);
  label.textContent = `${verb} ${done - failed} of ${items.length}${failed ? `; ${failed} failed` : ''}. Done.`;
}

function deadLettersPage(q) {
  crumbs([q, `#/${queuePath(q)}`], ['Dead letters', null]);
  const base = `/stratus/v1/${queuePath(q)}/deadLetters`;
  const selected = new Set();
  const tbody = h('tbody', {});
  const status = h('span', { class: 'muted', id: 'dead-status' });
  const bar = h('progress', { id: 'progress', hidden: true });
  const progressLabel = h('span', { id: 'progress-label' });
  let items = [];
  let busy = false;
  const listAll = async () => {
    const names = [];
    let token = '';
    do {
      const j = await api('GET', `${base}?pageSize=1000${token ? '&pageToken=' + enc(token) : ''}`);
      for (const d of j.deadLetters || []) names.push(shortName(d.task.name));
      token = j.nextPageToken || '';
      progressLabel.textContent = `listing… ${names.length}`;
    } while (token);
    return names;
  };
  const run = async (names, verb) => {
    if (busy) return;
    busy = true;
    try {
      const method = verb === 'Retried' ? 'POST' : 'DELETE';
      await batch(names, (id) => api(method, `${base}/${enc(id)}${method === 'POST' ? ':retry' : ''}`, method === 'POST' ? {} : undefined), bar, progressLabel, verb);
      selected.clear();
    } finally { busy = false; load(); }
  };
  const toolbar = h('div', { class: 'toolbar', id: 'dead-actions' });
  if (!readOnly()) {
    toolbar.append(
      h('button', { id: 'retry-selected', onclick: () => selected.size && confirmAction(`Retry ${selected.size} dead letter(s)?`) && run([...selected], 'Retried') }, 'Retry selected'),
      h('button', { id: 'delete-selected', class: 'danger', onclick: () => selected.size && confirmAction(`Delete ${selected.size} dead letter(s)?`) && run([...selected], 'Deleted') }, 'Delete selected'),
      h('button', { id: 'retry-all', onclick: async () => { if (confirmAction(`Retry every dead letter of ${q}?`)) run(await listAll(), 'Retried'); } }, 'Retry all'),
      h('button', { id: 'delete-all', class: 'danger', onclick: async () => { if (confirmAction(`Delete every dead letter of ${q}?`)) run(await listAll(), 'Deleted'); } }, 'Delete all'));
  }
  toolbar.append(bar, progressLabel);
  const headRow = h('tr', {}, readOnly() ? null : h('th', {}, h('input', { type: 'checkbox', id: 'select-all', onchange: (ev) => {
    for (const d of items) { const id = shortName(d.task.name); if (ev.target.checked) selected.add(id); else selected.delete(id); }
    draw();
  } })), ['Task', 'Dead since', 'Reason', 'Last status', 'Response body'].map((c) => h('th', {}, c)));
  main().replaceChildren(h('h1', {}, `Dead letters of ${q}`), toolbar, status, h('table', { id: 'dead' }, h('thead', {}, headRow), tbody));
  const draw = () => {
    tbody.replaceChildren(...items.map((d) => {
      const id = shortName(d.task.name);
      let preview = '';
      try { preview = new TextDecoder().decode(b64bytes(d.responseBody)).slice(0, 80); } catch { preview = ''; }
      return h('tr', { dataset: { task: id } },
        readOnly() ? null : h('td', {}, h('input', { type: 'checkbox', checked: selected.has(id), onchange: (ev) => { if (ev.target.checked) selected.add(id); else selected.delete(id); } })),
        h('td', { class: 'mono' }, h('a', { href: `#/${queuePath(q)}/deadLetters/${enc(id)}` }, id)), h('td', {}, fmtTime(d.deadTime)),
        h('td', {}, d.reason || '–'), h('td', { class: 'num' }, d.responseStatus ? String(d.responseStatus) : '–'), h('td', { class: 'mono' }, preview));
    }));
  };
  const load = async () => {
    const j = await api('GET', `${base}?pageSize=200`);
    items = j.deadLetters || [];
    status.textContent = `${items.length}${j.nextPageToken ? '+' : ''} dead letter(s)${j.nextPageToken ? ' (the first 200 shown; "all" acts on every one)' : ''}`;
    draw();
  };
  every(3000, async () => { if (!busy) await load(); });
}

function deadLetterPage(q, id) {
  crumbs([q, `#/${queuePath(q)}`], ['Dead letters', `#/${queuePath(q)}/deadLetters`], [id, null]);
  const name = `/stratus/v1/${queuePath(q)}/deadLetters/${enc(id)}`;
  const box = h('div', {});
  const actions = h('div', { class: 'toolbar' });
  main().replaceChildren(h('h1', {}, `Dead letter ${id}`), actions, box);
  if (!readOnly()) {
    actions.append(h('button', { id: 'retry-one', onclick: async () => {
      try { await api('POST', `${name}:retry`, {}); location.hash = `#/${queuePath(q)}/tasks/${enc(id)}`; } catch (e) { toast(e.message); } } }, 'Retry'),
    h('button', { id: 'delete-one', class: 'danger', onclick: async () => {
      if (!confirmAction(`Delete dead letter ${id}?`)) return;
      try { await api('DELETE', name); location.hash = `#/${queuePath(q)}/deadLetters`; } catch (e) { toast(e.message); } } }, 'Delete'));
  }
  api('GET', name).then((d) => {
    box.replaceChildren(kv([['Reason', d.reason || '–'], ['Dead since', fmtTime(d.deadTime)], ['Last status', String(d.responseStatus ?? '–')]]),
      h('h2', {}, 'Response headers'), headersTable(d.responseHeaders), h('h2', {}, 'Response body'),
      bodyView(d.responseBody, 'Response body'), h('h2', {}, 'The task'), ...taskDetail(d.task));
  }).catch((e) => box.replaceChildren(h('p', { class: 'error' }, e.message)));
}

// ---------------------------------------------------------------- token, routing, start

function askToken(message) {
  stopTimers();
  document.getElementById('crumbs').replaceChildren();
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', placeholder: 'API token' });
  const err = h('p', { class: 'error', id: 'token-error' }, message || '');
  const form = h('form', { class: 'login', id: 'login' }, h('h1', {}, 'API token'),
    h('p', {}, 'This server wants its --api-token. It is kept in this tab only (sessionStorage) and sent as an Authorization header.'),
    input, h('button', { type: 'submit' }, 'Sign in'), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value);
    try {
      await api('GET', `/stratus/v1/${locPath()}/queueStats`);
      document.getElementById('forget').hidden = false;
      route();
    } catch (e) {
      if (e.status !== 401) { route(); return; }
      sessionStorage.removeItem(TOKEN_KEY);
      document.getElementById('token-error').textContent = e.message;
    }
  });
  main().replaceChildren(form);
  input.focus();
}

function route() {
  stopTimers();
  document.getElementById('problem').textContent = '';
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const p = path.split('/').map(decodeURIComponent);
  if (p[0] === 'projects' && p[2] === 'locations' && p[1] && p[3]) {
    currentWhere = { project: p[1], location: p[3] };
    localStorage.setItem(WHERE_KEY, JSON.stringify(currentWhere));
  }
  document.getElementById('project').value = where().project;
  document.getElementById('location').value = where().location;
  if (config.tokenRequired && !sessionStorage.getItem(TOKEN_KEY)) { askToken(''); return; }
  const q = p[4] === 'queues' ? p[5] : null;
  if (!q) overviewPage();
  else if (p[6] === 'tasks' && p[7]) taskPage(q, p[7]);
  else if (p[6] === 'tasks') tasksPage(q, params);
  else if (p[6] === 'deadLetters' && p[7]) deadLetterPage(q, p[7]);
  else if (p[6] === 'deadLetters') deadLettersPage(q);
  else queuePage(q);
}

async function start() {
  try {
    const saved = JSON.parse(localStorage.getItem(WHERE_KEY) || 'null');
    if (saved && saved.project && saved.location) currentWhere = { project: String(saved.project), location: String(saved.location) };
  } catch { /* the defaults */ }
  const res = await fetch('config.json', { cache: 'no-store', credentials: 'omit' });
  config = await res.json();
  const banner = document.getElementById('banner');
  if (readOnly()) {
    banner.className = 'readonly';
    banner.textContent = 'Read-only dashboard (--ui read-only): it shows everything and offers no control that changes anything.';
  } else if (!config.tokenRequired) {
    banner.className = 'open';
    banner.textContent = 'The API is open: this server has no --api-token, so anyone who can reach it can read and change every queue.';
  }
  document.getElementById('mode').textContent = `${config.tokenRequired ? 'token required' : 'open API'} · ${readOnly() ? 'read-only' : 'read-write'}`;
  document.body.dataset.mode = config.mode;
  const forget = document.getElementById('forget');
  forget.hidden = !(config.tokenRequired && sessionStorage.getItem(TOKEN_KEY));
  forget.addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); forget.hidden = true; route(); });
  document.getElementById('where').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const project = document.getElementById('project').value.trim();
    const loc = document.getElementById('location').value.trim();
    if (project && loc) location.hash = `#/${locPath({ project, location: loc })}`;
  });
  window.addEventListener('hashchange', route);
  route();
}

start();
