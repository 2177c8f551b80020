// app.js: the tracestore web UI. A single page drawn from the daemon's own
// JSON APIs with the key the user signed in with (kept in sessionStorage,
// sent as X-API-KEY, never put in a URL). Everything a trace carries is
// rendered as text (textContent / text nodes); no HTML is ever parsed from data.
'use strict';

const KEY_SLOT = 'tracestore.key';
const PAGE_SIZE = 50;
const FOLD_CHARS = 600;
const OVERVIEW_BUCKETS = 24;
const OVERVIEW_MAX_PAGES = 10; // pages of 200 traces read for tokens and models

const $ = (id) => document.getElementById(id);

// ---- DOM helpers: text only ----

function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'className') e.className = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'onclick') e.addEventListener('click', v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, String(v));
    }
  }
  for (const kid of kids) {
    if (kid === null || kid === undefined || kid === false) continue;
    e.append(typeof kid === 'string' || typeof kid === 'number' ? String(kid) : kid);
  }
  return e;
}

function clear(node) {
  node.replaceChildren();
  return node;
}

// ---- formatting ----

// RFC 3339 with up to 9 fraction digits -> milliseconds (fractional).
function parseTime(s) {
  if (!s) return null;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) {
    const t = Date.parse(s);
    return Number.isNaN(t) ? null : t;
  }
  const base = Date.parse(m[1] + m[3]);
  return base + (m[2] ? parseFloat('0' + m[2]) * 1000 : 0);
}

function fmtTime(s) {
  const t = parseTime(s);
  if (t === null) return '';
  const d = new Date(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function fmtMs(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '';
  if (ms < 1) return ms.toFixed(2) + ' ms';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(2) + ' s';
  return (ms / 60000).toFixed(1) + ' min';
}

function fmtCost(c) {
  if (c === null || c === undefined) return '';
  if (c === 0) return '$0';
  if (c < 0.01) return '$' + c.toPrecision(3);
  return '$' + c.toFixed(4);
}

function fmtInt(n) {
  return n === null || n === undefined ? '' : Number(n).toLocaleString('en-US');
}

function localInput(ms) { // ms -> value for <input type=datetime-local> in UTC
  return new Date(ms).toISOString().slice(0, 16);
}

function inputToIso(v) { // datetime-local value (read as UTC) -> RFC 3339
  if (!v) return '';
  const t = Date.parse(v + (v.length === 16 ? ':00Z' : 'Z'));
  return Number.isNaN(t) ? '' : new Date(t).toISOString();
}

// ---- API ----

function key() { return sessionStorage.getItem(KEY_SLOT); }

async function api(method, path, body, withKey) {
  const headers = {};
  const k = withKey || key();
  if (k) headers['X-API-KEY'] = k;
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    return { status: 0, json: null, message: 'request failed: ' + e.message };
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  let message = '';
  if (json && typeof json === 'object') {
    for (const k of ['message', 'detail', 'error']) {
      if (typeof json[k] === 'string' && json[k]) { message = json[k]; break; }
    }
  }
  // no message in the answer: show the answer itself
  if (!message) message = text ? text.slice(0, 400) : 'HTTP ' + res.status;
  if (res.status === 401 && method === 'GET' && path !== '/v1/workspace') signOut(message);
  return { status: res.status, json, message: String(message), text };
}

// ---- URL state (never the key) ----

function state() { return new URLSearchParams(location.search); }

function go(params, replace) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const url = '/ui/' + (q.toString() ? '?' + q.toString() : '');
  if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
  render();
}

// ---- sign-in ----

async function signIn(k) {
  const r = await api('GET', '/v1/workspace', undefined, k);
  if (r.status !== 200 || !r.json) {
    $('signin-error').textContent = r.message;
    return false;
  }
  sessionStorage.setItem(KEY_SLOT, k);
  $('signin-error').textContent = '';
  $('ws-name').textContent = r.json.name;
  return true;
}

function signOut(message) {
  sessionStorage.removeItem(KEY_SLOT);
  $('ws-name').textContent = '';
  $('signin-error').textContent = message || '';
  render();
}

let wsKnown = false;

async function render() {
  const signedIn = !!key();
  $('signin').hidden = signedIn;
  $('nav').hidden = !signedIn;
  $('who').hidden = !signedIn;
  const view = $('view');
  if (!signedIn) {
    clear(view);
    wsKnown = false;
    $('key').focus();
    return;
  }
  if (!wsKnown) {
    const r = await api('GET', '/v1/workspace');
    if (r.status !== 200) { signOut(r.message); return; }
    $('ws-name').textContent = r.json.name;
    wsKnown = true;
  }
  const s = state();
  const v = s.get('view') || (s.get('id') ? 'trace' : 'list');
  $('nav-traces').classList.toggle('active', v === 'list');
  $('nav-overview').classList.toggle('active', v === 'overview');
  if (v === 'trace') return renderTrace(view, s.get('id') || '');
  if (v === 'overview') return renderOverview(view, s);
  return renderList(view, s);
}

// ---- trace list ----

const LIST_KEYS = ['name', 'model', 'errors', 'from', 'to', 'cost_min', 'cost_max', 'tok_min',
                   'tok_max', 'sort', 'dir'];
const SORTS = { start: 'start_time', duration: 'duration', cost: 'total_cost', tokens: 'total_tokens' };

function listParams(s) {
  const p = {};
  for (const k of LIST_KEYS) p[k] = s.get(k) || '';
  p.sort = SORTS[p.sort] ? p.sort : 'start';
  p.dir = p.dir === 'asc' ? 'asc' : 'desc';
  return p;
}

// TruLayer's keyset-paged list answers the default view; a name or cost
// filter, or another sort, needs Respan's list (filters and sort_by).
function needsRespan(p) {
  return !!(p.name || p.cost_min || p.cost_max || p.sort !== 'start' || p.dir !== 'desc');
}

async function fetchTrulayer(p, cursor) {
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (p.model) q.set('model', p.model);
  if (p.errors) q.set('error', 'true');
  if (p.from) q.set('from', p.from);
  if (p.to) q.set('to', p.to);
  if (p.tok_min) q.set('token_count_min', p.tok_min);
  if (p.tok_max) q.set('token_count_max', p.tok_max);
  if (cursor) q.set('cursor', cursor);
  const r = await api('GET', '/v1/traces?' + q.toString());
  if (r.status !== 200) return { error: r.message };
  return {
    rows: r.json.traces.map((t) => ({
      id: t.id, name: t.name, start: t.started_at, duration: t.latency_ms, spans: t.span_count,
      tokens: t.total_token_count, cost: t.cost, model: t.model, errors: t.error_count,
      error: t.error,
    })),
    next: r.json.next_cursor,
  };
}

async function fetchRespan(p, page) {
  const filters = {};
  if (p.name) filters.name = { operator: 'icontains', value: [p.name] };
  if (p.model) filters.model = { operator: '=', value: [p.model] };
  if (p.errors) filters.error_count = { operator: 'gt', value: [0] };
  // Respan filters are keyed by field, so one field takes one bound: the
  // upper token bound goes through the alias total_request_tokens, and an
  // upper cost bound next to a lower one is applied to the page (renderList).
  const range = (field, alias, lo, hi) => {
    if (lo !== '') filters[field] = { operator: 'gte', value: [Number(lo)] };
    if (hi !== '' && (lo === '' || alias)) filters[lo === '' ? field : alias] = { operator: 'lte', value: [Number(hi)] };
  };
  range('total_cost', null, p.cost_min, p.cost_max);
  range('total_tokens', 'total_request_tokens', p.tok_min, p.tok_max);
  const q = new URLSearchParams({ page: String(page), page_size: String(PAGE_SIZE),
                                  sort_by: (p.dir === 'desc' ? '-' : '') + SORTS[p.sort] });
  if (p.from) q.set('start_time', p.from);
  if (p.to) q.set('end_time', p.to);
  const r = await api('POST', '/api/traces/list/?' + q.toString(), { filters });
  if (r.status !== 200) return { error: r.message };
  return {
    rows: r.json.results.map((t) => ({
      id: t.trace_unique_id, name: t.name, start: t.start_time,
      duration: t.duration === null ? null : t.duration * 1000, spans: t.span_count,
      tokens: t.total_tokens, cost: t.total_cost, model: t.model, errors: t.error_count,
      error: null,
    })),
    next: r.json.next ? String(page + 1) : null,
    count: r.json.count,
  };
}

function filterForm(p) {
  const input = (name, label, type, cls) => el('label', null, label,
    el('input', { name, type: type || 'text', value: p[name], className: cls, step: type === 'number' ? 'any' : null, min: type === 'number' ? '0' : null }));
  const f = el('form', { className: 'filters', id: 'filters' },
    input('name', 'Name contains'),
    input('model', 'Model'),
    el('label', null, 'From (UTC)', el('input', { name: 'from', type: 'datetime-local', value: p.from ? localInput(parseTime(p.from)) : '' })),
    el('label', null, 'To (UTC)', el('input', { name: 'to', type: 'datetime-local', value: p.to ? localInput(parseTime(p.to)) : '' })),
    input('cost_min', 'Cost ≥ $', 'number', 'num'),
    input('cost_max', 'Cost ≤ $', 'number', 'num'),
    input('tok_min', 'Tokens ≥', 'number', 'num'),
    input('tok_max', 'Tokens ≤', 'number', 'num'),
    el('label', { className: 'check' }, el('input', { name: 'errors', type: 'checkbox', checked: p.errors ? 'checked' : null }), 'Errors only'),
    el('button', { type: 'submit', id: 'apply' }, 'Apply'),
    el('button', { type: 'button', id: 'reset', onclick: () => go({ view: 'list' }) }, 'Reset'));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const d = new FormData(f);
    go({
      view: 'list', name: d.get('name').trim(), model: d.get('model').trim(),
      errors: d.get('errors') ? '1' : '', from: inputToIso(d.get('from')), to: inputToIso(d.get('to')),
      cost_min: d.get('cost_min'), cost_max: d.get('cost_max'), tok_min: d.get('tok_min'),
      tok_max: d.get('tok_max'), sort: p.sort === 'start' ? '' : p.sort, dir: p.dir === 'desc' ? '' : p.dir,
    });
  });
  return f;
}

function sortHeader(label, col, p, cls) {
  const active = p.sort === col;
  const arrow = active ? (p.dir === 'desc' ? ' ↓' : ' ↑') : '';
  const b = el('button', { type: 'button', className: 'sort', dataset: { sort: col } }, label + arrow);
  b.addEventListener('click', () => {
    const dir = active && p.dir === 'desc' ? 'asc' : 'desc';
    const s = state();
    s.delete('cursor'); s.delete('page');
    s.set('sort', col); s.set('dir', dir);
    if (col === 'start' && dir === 'desc') { s.delete('sort'); s.delete('dir'); }
    go(Object.fromEntries(s.entries()));
  });
  return el('th', { className: cls }, b);
}

let cursorStack = []; // TruLayer cursors of the pages before this one

async function renderList(view, s) {
  const p = listParams(s);
  const respan = needsRespan(p);
  const cursor = s.get('cursor') || '';
  const page = Math.max(1, parseInt(s.get('page') || '1', 10) || 1);
  clear(view).append(el('h1', null, 'Traces'), filterForm(p));
  const status = el('p', { id: 'list-status', className: 'muted' }, 'Loading…');
  view.append(status);
  let res = respan ? await fetchRespan(p, page) : await fetchTrulayer(p, cursor);
  if (res.error) {
    status.className = 'error';
    status.textContent = res.error;
    return;
  }
  // Respan takes one bound per field: apply a cost ceiling next to a floor here.
  if (respan && p.cost_min && p.cost_max) {
    const hi = Number(p.cost_max);
    res.rows = res.rows.filter((r) => r.cost !== null && r.cost <= hi);
  }
  status.textContent = res.rows.length === 0 ? 'No traces match.' :
    (res.count !== undefined ? res.count + ' traces' : '') ;
  const thead = el('tr', null, el('th', null, 'Name'), sortHeader('Start', 'start', p),
    sortHeader('Duration', 'duration', p, 'num'), el('th', { className: 'num' }, 'Spans'),
    sortHeader('Tokens', 'tokens', p, 'num'), sortHeader('Cost', 'cost', p, 'num'),
    el('th', null, 'Model'), el('th', null, 'Status'));
  const body = el('tbody');
  const frag = document.createDocumentFragment();
  for (const t of res.rows) {
    const err = t.errors > 0 || !!t.error;
    const link = el('a', { href: '/ui/?view=trace&id=' + encodeURIComponent(t.id), className: 'trace-link' },
      t.name || '(unnamed)');
    link.addEventListener('click', (ev) => { ev.preventDefault(); go({ view: 'trace', id: t.id }); });
    frag.append(el('tr', { className: err ? 'trace err' : 'trace', dataset: { traceId: t.id } },
      el('td', { className: 'name' }, link),
      el('td', null, fmtTime(t.start)),
      el('td', { className: 'num' }, fmtMs(t.duration)),
      el('td', { className: 'num' }, fmtInt(t.spans)),
      el('td', { className: 'num' }, fmtInt(t.tokens)),
      el('td', { className: 'num' }, fmtCost(t.cost)),
      el('td', null, t.model || ''),
      el('td', { className: 'status' }, err ? 'error' + (t.error ? ': ' + t.error.slice(0, 80) : ' (' + t.errors + ')') : 'ok')));
  }
  body.append(frag);
  view.append(el('table', { className: 'traces', id: 'traces' }, el('thead', null, thead), body));
  const pager = el('div', { className: 'pager' });
  const here = Object.fromEntries(s.entries());
  if (respan) {
    if (page > 1) pager.append(el('button', { type: 'button', id: 'prev', onclick: () => go({ ...here, page: page - 1 === 1 ? '' : String(page - 1) }) }, '← Previous'));
    pager.append(el('span', { className: 'muted' }, 'page ' + page));
    if (res.next) pager.append(el('button', { type: 'button', id: 'next', onclick: () => go({ ...here, page: res.next }) }, 'Next →'));
  } else {
    if (cursor) pager.append(el('button', { type: 'button', id: 'first', onclick: () => { cursorStack = []; go({ ...here, cursor: '' }); } }, '⇤ Newest'));
    if (cursor && cursorStack.length) pager.append(el('button', { type: 'button', id: 'prev', onclick: () => { const c = cursorStack.pop(); go({ ...here, cursor: c }); } }, '← Previous'));
    if (res.next) pager.append(el('button', { type: 'button', id: 'next', onclick: () => { cursorStack.push(cursor); go({ ...here, cursor: res.next }); } }, 'Next →'));
  }
  view.append(pager);
}

// ---- trace detail ----

async function renderTrace(view, id) {
  clear(view).append(el('p', { className: 'muted', id: 'trace-status' }, 'Loading…'));
  const eid = encodeURIComponent(id);
  const [tl, pl, st] = await Promise.all([
    api('GET', '/v1/traces/' + eid),
    api('GET', '/api/public/v2/traces/' + eid),
    api('GET', '/v1/traces/' + eid + '/state'),
  ]);
  clear(view);
  view.append(el('p', null, el('a', { href: '/ui/?view=list', id: 'back', onclick: (ev) => { ev.preventDefault(); history.length > 1 ? history.back() : go({ view: 'list' }); } }, '← Traces')));
  if (tl.status !== 200) {
    view.append(el('h1', null, 'Trace'), el('p', { className: 'error', id: 'trace-error' }, tl.message));
    return;
  }
  const t = tl.json;
  const extra = new Map();
  if (pl.status === 200 && pl.json && Array.isArray(pl.json.spans))
    for (const sp of pl.json.spans) extra.set(sp.span_id, sp);
  const closed = st.status === 200 && st.json ? st.json.closed : null;
  view.append(el('h1', { id: 'trace-name' }, t.name || '(unnamed trace)'),
    el('p', { className: 'muted' }, 'id ', el('code', { id: 'trace-id' }, t.id)));
  view.append(traceSummary(t, closed));
  view.append(traceActions(t, closed));
  const detail = el('aside', { className: 'span-detail', id: 'span-detail' },
    el('p', { className: 'muted' }, 'Click a span to see its details.'));
  const wf = waterfall(t, extra, detail);
  view.append(el('div', { className: 'detail-layout' }, wf, detail));
}

function kv(pairs, id) {
  const dl = el('dl', { className: 'kv', id });
  for (const [k, v, vid] of pairs) {
    if (v === null || v === undefined || v === '') continue;
    dl.append(el('dt', null, k), el('dd', { dataset: vid ? { k: vid } : null }, String(v)));
  }
  return dl;
}

function traceSummary(t, closed) {
  const item = (label, value, k) => el('div', { dataset: { k } }, el('b', null, label), el('span', { className: 'v' }, value));
  const err = t.error || t.error_count > 0;
  return el('div', { className: 'summary', id: 'trace-summary' },
    item('Spans', fmtInt(t.span_count), 'spans'),
    item('Prompt tokens', fmtInt(t.prompt_tokens_total), 'prompt'),
    item('Completion tokens', fmtInt(t.completion_tokens_total), 'completion'),
    item('Total tokens', fmtInt(t.total_token_count), 'total'),
    item('Cost', t.cost === null ? 'unpriced' : fmtCost(t.cost) + (t.unpriced_span_count ? ' (' + t.unpriced_span_count + ' unpriced)' : ''), 'cost'),
    item('Latency', fmtMs(t.latency_ms), 'latency'),
    item('Status', err ? 'error' + (t.error ? ': ' + t.error : '') + ' (' + t.error_count + ' errored span' + (t.error_count === 1 ? '' : 's') + ')' : 'ok', 'status'),
    item('State', closed === null ? 'unknown' : closed ? 'closed' : 'open', 'state'),
    item('Started', fmtTime(t.started_at), 'started'),
    item('Models', spanModels(t), 'models'));
}

// The models the trace's spans called, most used first.
function spanModels(t) {
  const n = new Map();
  for (const s of t.spans || []) if (s.model) n.set(s.model, (n.get(s.model) || 0) + 1);
  if (t.model && !n.has(t.model)) n.set(t.model, 0);
  return [...n.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0]).join(', ') || 'none';
}

function confirmBox(question, yesLabel, action, answer) {
  const box = el('span', { className: 'confirm', id: 'confirm' }, question + ' ');
  const yes = el('button', { type: 'button', id: 'confirm-yes' }, yesLabel);
  const no = el('button', { type: 'button', id: 'confirm-no' }, 'Cancel');
  yes.addEventListener('click', async () => {
    yes.disabled = no.disabled = true;
    const r = await action();
    box.remove();
    answer.textContent = 'HTTP ' + r.status + ': ' + r.message;
    answer.className = r.status >= 200 && r.status < 300 ? 'answer' : 'answer error';
  });
  no.addEventListener('click', () => box.remove());
  box.append(yes, ' ', no);
  return box;
}

function traceActions(t, closed) {
  const answer = el('span', { className: 'answer', id: 'action-answer' });
  const bar = el('div', { className: 'actions' });
  const ask = (question, yesLabel, action) => {
    const old = $('confirm');
    if (old) old.remove();
    answer.textContent = '';
    bar.insertBefore(confirmBox(question, yesLabel, action, answer), answer);
  };
  const closeBtn = el('button', { type: 'button', id: 'close-trace', disabled: closed ? 'disabled' : null }, 'Close trace');
  closeBtn.addEventListener('click', () => ask('Close this trace? Later spans for it will be refused.', 'Yes, close',
    async () => {
      const r = await api('POST', '/api/public/v2/traces/' + encodeURIComponent(t.id) + '/close');
      if (r.status === 201) {
        closeBtn.disabled = true;
        const s = document.querySelector('#trace-summary [data-k=state] .v');
        if (s) s.textContent = 'closed';
      }
      return r;
    }));
  const delBtn = el('button', { type: 'button', id: 'delete-trace' }, 'Delete trace');
  delBtn.addEventListener('click', () => ask('Delete this trace and all its spans? This cannot be undone.', 'Yes, delete',
    async () => {
      const r = await api('DELETE', '/api/traces/' + encodeURIComponent(t.id) + '/');
      if (r.status === 200) { delBtn.disabled = closeBtn.disabled = true; }
      return r;
    }));
  bar.append(closeBtn, delBtn, answer);
  return bar;
}

// Orders spans depth-first by parent (children by start time); a span whose
// parent is missing, or that sits on a parent cycle, is a root.
function spanTree(spans) {
  const byId = new Map();
  for (const s of spans) byId.set(s.id, s);
  const kids = new Map();
  const roots = [];
  for (const s of spans) {
    if (s.parent_span_id && byId.has(s.parent_span_id) && s.parent_span_id !== s.id) {
      if (!kids.has(s.parent_span_id)) kids.set(s.parent_span_id, []);
      kids.get(s.parent_span_id).push(s);
    } else {
      roots.push(s);
    }
  }
  const byStart = (a, b) => (parseTime(a.start_time) - parseTime(b.start_time)) || (a.id < b.id ? -1 : 1);
  const out = [];
  const seen = new Set();
  const walk = (list, depth) => { // iterative enough: depth bounded by the trace
    list.sort(byStart);
    for (const s of list) {
      if (seen.has(s.id)) continue;
      seen.add(s.id);
      out.push({ span: s, depth });
      const c = kids.get(s.id);
      if (c) walk(c, depth + 1);
    }
  };
  walk(roots, 0);
  // spans only reachable through a cycle: show them as roots
  const rest = spans.filter((s) => !seen.has(s.id));
  while (rest.length) {
    const s = rest.shift();
    if (seen.has(s.id)) continue;
    walk([s], 0);
  }
  return out;
}

function isLlm(s) {
  return s.type === 'llm' || !!s.model || s.prompt_tokens !== undefined || s.completion_tokens !== undefined;
}

function waterfall(t, extra, detail) {
  const spans = Array.isArray(t.spans) ? t.spans : [];
  const rows = spanTree(spans);
  let t0 = parseTime(t.started_at), t1 = parseTime(t.ended_at);
  for (const { span } of rows) {
    const a = parseTime(span.start_time), b = parseTime(span.end_time);
    if (a !== null && (t0 === null || a < t0)) t0 = a;
    if (b !== null && (t1 === null || b > t1)) t1 = b;
  }
  const total = t1 !== null && t0 !== null && t1 > t0 ? t1 - t0 : 1;
  const box = el('div', { className: 'waterfall', id: 'waterfall', dataset: { spans: String(rows.length) } });
  const frag = document.createDocumentFragment();
  for (const { span: s, depth } of rows) {
    const a = parseTime(s.start_time), b = parseTime(s.end_time);
    const llm = isLlm(s);
    const label = el('div', { className: 'wf-label' });
    // indentation stops growing past 40 levels; data-depth keeps the truth
    label.style.paddingLeft = (0.3 + Math.min(depth, 40) * 1.1) + 'em';
    label.append(el('span', { className: 'wf-name' }, s.name || '(unnamed)'),
      el('span', { className: 'tag' }, s.type || 'other'));
    if (llm) {
      const tok = (s.prompt_tokens || 0) + (s.completion_tokens || 0);
      label.append(el('span', { className: 'tag llm' }, (s.model || 'llm') + (tok ? ' · ' + tok + ' tok' : '')));
    }
    if (s.error) label.append(el('span', { className: 'tag error' }, 'error'));
    label.append(el('span', { className: 'wf-dur' }, fmtMs(s.latency_ms)));
    const bar = el('div', { className: 'wf-bar' });
    const left = a === null ? 0 : ((a - t0) / total) * 100;
    const width = a === null || b === null ? 0 : ((b - a) / total) * 100;
    bar.style.left = Math.max(0, Math.min(100, left)).toFixed(3) + '%';
    bar.style.width = Math.max(0, Math.min(100 - left, width)).toFixed(3) + '%';
    const row = el('div', {
      className: 'wf-row' + (llm ? ' llm' : '') + (s.error ? ' error' : ''),
      dataset: { spanId: s.id, parentId: s.parent_span_id || '', depth: String(depth) },
      title: (s.name || '') + ' — ' + fmtMs(s.latency_ms),
    }, label, el('div', { className: 'wf-track' }, bar));
    frag.append(row);
  }
  box.append(frag);
  // one listener for every row: a 2,000-span trace gets one, not 2,000
  box.addEventListener('click', (ev) => {
    const row = ev.target.closest('.wf-row');
    if (!row) return;
    const prev = box.querySelector('.wf-row.selected');
    if (prev) prev.classList.remove('selected');
    row.classList.add('selected');
    const s = spans.find((x) => x.id === row.dataset.spanId);
    if (s) showSpan(detail, s, extra.get(s.otel_span_id));
  });
  return box;
}

// Text over FOLD_CHARS characters shows its start and a button for the rest.
function textBlock(text) {
  const pre = el('pre', { className: 'text' });
  if (text.length <= FOLD_CHARS) {
    pre.textContent = text;
    return pre;
  }
  pre.textContent = text.slice(0, FOLD_CHARS) + '…';
  const more = el('button', { type: 'button', className: 'unfold' }, 'Show all ' + text.length.toLocaleString('en-US') + ' characters');
  more.addEventListener('click', () => { pre.textContent = text; more.remove(); });
  return el('div', null, pre, more);
}

function partText(c) {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p) => (p && typeof p === 'object' ? (p.text ?? p.content ?? JSON.stringify(p)) : String(p))).join('\n');
  if (c && typeof c === 'object') return c.text ?? JSON.stringify(c, null, 2);
  return c === null || c === undefined ? '' : String(c);
}

// A list of chat messages ([{role, content}] or {messages: [...]}), else null.
function asMessages(v) {
  if (v && !Array.isArray(v) && typeof v === 'object' && Array.isArray(v.messages)) v = v.messages;
  if (v && !Array.isArray(v) && typeof v === 'object' && typeof v.role === 'string') v = [v];
  if (!Array.isArray(v) || v.length === 0) return null;
  for (const m of v) if (!m || typeof m !== 'object' || typeof m.role !== 'string') return null;
  return v;
}

function contentBlock(raw) {
  if (raw === undefined || raw === null || raw === '') return el('p', { className: 'muted' }, 'none');
  let v = raw;
  if (typeof raw === 'string') {
    const s = raw.trim();
    if (s.startsWith('[') || s.startsWith('{')) { try { v = JSON.parse(s); } catch (e) { v = raw; } }
  }
  const msgs = asMessages(v);
  if (msgs) {
    const box = el('div', { className: 'messages' });
    for (const m of msgs) {
      const text = partText(m.content !== undefined ? m.content : (m.parts || m.tool_calls || ''));
      box.append(el('div', { className: 'msg ' + (m.role === 'assistant' || m.role === 'user' ? m.role : 'other') },
        el('div', { className: 'role' }, m.role), textBlock(text)));
    }
    return box;
  }
  return textBlock(typeof v === 'string' ? v : JSON.stringify(v, null, 2));
}

function jsonBlock(v) {
  if (v === undefined || v === null) return el('p', { className: 'muted' }, 'none');
  if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return el('p', { className: 'muted' }, 'none');
  if (Array.isArray(v) && v.length === 0) return el('p', { className: 'muted' }, 'none');
  return textBlock(JSON.stringify(v, null, 2));
}

function showSpan(detail, s, x) {
  clear(detail);
  detail.scrollTop = 0;
  const tok = (s.prompt_tokens || 0) + (s.completion_tokens || 0);
  const status = x && x.status ? x.status.status_code + (x.status.description ? ': ' + x.status.description : '') :
    (s.error ? 'error' : 'ok');
  detail.append(el('h2', { id: 'span-name' }, s.name || '(unnamed span)'),
    kv([
      ['Span id', s.otel_span_id, 'span_id'],
      ['Parent', s.parent_span_id, 'parent'],
      ['Type', s.type, 'type'],
      ['Kind', x ? x.kind : '', 'kind'],
      ['Status', status, 'status'],
      ['Error', s.error, 'error'],
      ['Model', s.model, 'model'],
      ['Provider', x ? x.provider : '', 'provider'],
      ['Prompt tokens', s.prompt_tokens, 'prompt_tokens'],
      ['Completion tokens', s.completion_tokens, 'completion_tokens'],
      ['Total tokens', s.prompt_tokens !== undefined || s.completion_tokens !== undefined ? tok : '', 'total_tokens'],
      ['Cost', s.cost !== undefined ? fmtCost(s.cost) : (isLlm(s) ? 'unpriced' : ''), 'cost'],
      ['Start', fmtTime(s.start_time), 'start'],
      ['End', fmtTime(s.end_time), 'end'],
      ['Latency', fmtMs(s.latency_ms), 'latency'],
    ], 'span-kv'));
  const section = (title, id, node) => el('section', { id }, el('h2', null, title), node);
  detail.append(section('Input', 'span-input', contentBlock(s.input)),
    section('Output', 'span-output', contentBlock(s.output)),
    section('Attributes', 'span-attributes', jsonBlock(x ? x.attributes : undefined)),
    section('Events', 'span-events', jsonBlock(x ? x.events : undefined)),
    section('Resource', 'span-resource', jsonBlock(x ? x.resource : undefined)),
    section('Metadata', 'span-metadata', jsonBlock(s.metadata)));
}

// ---- overview ----

const RANGES = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };

function overviewRange(s) {
  const to = parseTime(s.get('to')) || Date.now();
  let from = parseTime(s.get('from'));
  if (from === null || from >= to) from = to - (RANGES[s.get('range')] || RANGES['24h']);
  return { from, to };
}

async function renderOverview(view, s) {
  const { from, to } = overviewRange(s);
  clear(view).append(el('h1', null, 'Overview'));
  const f = el('form', { className: 'filters', id: 'overview-form' },
    el('label', null, 'Range', (() => {
      const sel = el('select', { name: 'range' });
      for (const r of Object.keys(RANGES)) sel.append(el('option', { value: r, selected: (s.get('range') || '24h') === r && !s.get('from') ? 'selected' : null }, 'last ' + r));
      sel.append(el('option', { value: 'custom', selected: s.get('from') ? 'selected' : null }, 'custom'));
      return sel;
    })()),
    el('label', null, 'From (UTC)', el('input', { name: 'from', type: 'datetime-local', value: localInput(from) })),
    el('label', null, 'To (UTC)', el('input', { name: 'to', type: 'datetime-local', value: localInput(to) })),
    el('button', { type: 'submit' }, 'Show'));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const d = new FormData(f);
    if (d.get('range') === 'custom') go({ view: 'overview', from: inputToIso(d.get('from')), to: inputToIso(d.get('to')) });
    else go({ view: 'overview', range: d.get('range') });
  });
  view.append(f);
  const status = el('p', { className: 'muted', id: 'overview-status' }, 'Loading…');
  view.append(status);
  const iso = (ms) => new Date(ms).toISOString();
  const step = (to - from) / OVERVIEW_BUCKETS;
  const edges = [];
  for (let i = 0; i <= OVERVIEW_BUCKETS; i++) edges.push(Math.round(from + i * step));
  // exact per-bucket counts and cost: GET /v1/metrics, one call per bucket
  const calls = [api('GET', '/v1/metrics?from=' + iso(from) + '&to=' + iso(to))];
  for (let i = 0; i < OVERVIEW_BUCKETS; i++) calls.push(api('GET', '/v1/metrics?from=' + iso(edges[i]) + '&to=' + iso(edges[i + 1])));
  const [all, ...buckets] = await Promise.all(calls);
  if (all.status !== 200) { status.className = 'error'; status.textContent = all.message; return; }
  // tokens and models: the range's traces from the list (newest first, bounded)
  const tokens = new Array(OVERVIEW_BUCKETS).fill(0);
  const models = new Map();
  let cursor = '', pages = 0, seen = 0, truncated = false;
  for (;;) {
    const q = new URLSearchParams({ limit: '200', from: iso(from), to: iso(to) });
    if (cursor) q.set('cursor', cursor);
    const r = await api('GET', '/v1/traces?' + q.toString());
    if (r.status !== 200) { status.className = 'error'; status.textContent = r.message; return; }
    for (const t of r.json.traces) {
      seen++;
      const at = parseTime(t.started_at);
      const i = Math.min(OVERVIEW_BUCKETS - 1, Math.max(0, Math.floor((at - from) / step)));
      tokens[i] += t.total_token_count || 0;
      const m = t.model || '(no model)';
      const e = models.get(m) || { cost: 0, tokens: 0, count: 0 };
      e.cost += t.cost || 0; e.tokens += t.total_token_count || 0; e.count++;
      models.set(m, e);
    }
    pages++;
    cursor = r.json.next_cursor;
    if (!cursor) break;
    if (pages >= OVERVIEW_MAX_PAGES) { truncated = true; break; }
  }
  const m = all.json;
  clear(status);
  status.className = 'muted';
  view.append(el('div', { className: 'summary', id: 'overview-summary' },
    el('div', { dataset: { k: 'traces' } }, el('b', null, 'Traces'), el('span', { className: 'v' }, fmtInt(m.total_traces))),
    el('div', { dataset: { k: 'cost' } }, el('b', null, 'Cost'), el('span', { className: 'v' }, fmtCost(m.total_cost))),
    el('div', { dataset: { k: 'errors' } }, el('b', null, 'Errors'), el('span', { className: 'v' }, fmtInt(m.error_count) + (m.error_rate !== null ? ' (' + (m.error_rate * 100).toFixed(1) + '%)' : ''))),
    el('div', { dataset: { k: 'p50' } }, el('b', null, 'p50 latency'), el('span', { className: 'v' }, fmtMs(m.p50_latency_ms))),
    el('div', { dataset: { k: 'p95' } }, el('b', null, 'p95 latency'), el('span', { className: 'v' }, fmtMs(m.p95_latency_ms)))));
  if (truncated) status.textContent = 'Tokens and per-model figures are from the newest ' + seen + ' traces of the range; counts and cost over time are exact.';
  const labels = edges.slice(0, -1).map((e) => {
    const d = new Date(e).toISOString();
    return to - from > 2 * 86400e3 ? d.slice(5, 16).replace('T', ' ') : d.slice(11, 16);
  });
  const grid = el('div', { className: 'charts' });
  view.append(grid);
  const byModel = [...models.entries()].sort((a, b) => b[1].cost - a[1].cost || b[1].count - a[1].count).slice(0, 12);
  const charts = [
    ['chart-requests', 'Requests (traces) over time', 'bar', labels, buckets.map((b) => (b.json ? b.json.total_traces : 0)), 'traces'],
    ['chart-cost', 'Cost over time (USD)', 'bar', labels, buckets.map((b) => (b.json ? b.json.total_cost : 0)), 'USD'],
    ['chart-tokens', 'Tokens over time', 'bar', labels, tokens, 'tokens'],
    ['chart-model-cost', 'Cost by model (USD)', 'hbar', byModel.map((e) => e[0]), byModel.map((e) => e[1].cost), 'USD'],
    ['chart-model-tokens', 'Tokens by model', 'hbar', byModel.map((e) => e[0]), byModel.map((e) => e[1].tokens), 'tokens'],
    ['chart-model-requests', 'Requests by model', 'hbar', byModel.map((e) => e[0]), byModel.map((e) => e[1].count), 'traces'],
  ];
  for (const [id, title, kind, lab, data, unit] of charts) {
    const canvas = el('canvas', { id, role: 'img', 'aria-label': title });
    grid.append(el('div', { className: 'chart' }, el('h2', null, title), el('div', { className: 'canvas-box' }, canvas)));
    if (typeof Chart === 'undefined') continue;
    new Chart(canvas, {
      type: 'bar',
      data: { labels: lab, datasets: [{ label: unit, data, backgroundColor: kind === 'hbar' ? '#7b3fc4' : '#5b8def' }] },
      options: {
        indexAxis: kind === 'hbar' ? 'y' : 'x', animation: false, responsive: true,
        maintainAspectRatio: false, plugins: { legend: { display: false } },
        scales: { [kind === 'hbar' ? 'x' : 'y']: { beginAtZero: true } },
      },
    });
  }
}

// ---- start ----

document.addEventListener('DOMContentLoaded', () => {
  $('signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const k = $('key').value.trim();
    if (!k) { $('signin-error').textContent = 'enter an API key'; return; }
    $('signin-btn').disabled = true;
    const ok = await signIn(k);
    $('signin-btn').disabled = false;
    if (ok) { $('key').value = ''; wsKnown = true; render(); }
  });
  $('signout').addEventListener('click', () => signOut(''));
  for (const a of [$('nav-traces'), $('nav-overview'), $('brand')]) {
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      const u = new URL(a.href);
      go(Object.fromEntries(u.searchParams.entries()));
    });
  }
  window.addEventListener('popstate', render);
  render();
});
