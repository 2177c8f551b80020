// ui.mjs: the web UI's browser test. tests/integration/test_ui.c starts a
// daemon, ingests known traces over HTTP and runs this script with their
// ids; it drives Debian's chromium (headless, through playwright-core) at
// the real daemon and checks what a user sees. Each check throws with what
// it expected; the exit code is 0 only when every check passed.
// Usage: node ui.mjs FIXTURE.json   (see test_ui.c for the fields)
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const fx = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const base = fx.base; // http://127.0.0.1:PORT
const results = [];

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}
function eq(got, want, what) {
  if (got !== want) throw new Error(`check failed: ${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

async function apiGet(path, key) {
  const r = await fetch(base + path, { headers: { 'X-API-KEY': key || fx.key } });
  return { status: r.status, json: await r.json().catch(() => null) };
}

const fmtInt = (n) => Number(n).toLocaleString('en-US');
const fmtCost = (c) => (c === 0 ? '$0' : c < 0.01 ? '$' + c.toPrecision(3) : '$' + c.toFixed(4));

const profile = mkdtempSync(join(tmpdir(), 'ts-ui-chromium-'));
// a fresh profile directory (--user-data-dir, given by playwright from it)
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: fx.chromium || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 760 },
  timeout: 60000,
});
let failed = null;
try {
  const page = browser.pages()[0] || await browser.newPage();
  page.setDefaultTimeout(20000);
  const dialogs = [], csp = [], pageErrors = [], requests = [];
  page.on('dialog', (d) => { dialogs.push(d.type() + ':' + d.message()); d.dismiss().catch(() => {}); });
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) csp.push(m.text()); });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));

  const step = async (name, fn) => {
    const t0 = Date.now();
    await fn();
    results.push({ step: name, ms: Date.now() - t0 });
  };
  const rowsOf = () => page.$$eval('#traces tbody tr', (trs) => trs.map((tr) => tr.dataset.traceId));
  const waitList = async () => {
    await page.waitForSelector('#traces');
    return rowsOf();
  };
  const sameTrace = (a, b) => a.replace(/-/g, '').toLowerCase() === b.replace(/-/g, '').toLowerCase();
  const listHas = (rows, id) => rows.some((r) => sameTrace(r, id));
  const norm = (id) => id.replace(/-/g, '').toLowerCase();
  // the row of a trace (the list shows UUID or hex ids, whichever API answered)
  const rowCells = (id) => page.$$eval('#traces tbody tr', (trs, want) => {
    const tr = trs.find((t) => t.dataset.traceId.replace(/-/g, '').toLowerCase() === want);
    return tr ? [...tr.children].map((td) => td.textContent) : null;
  }, norm(id));
  const openRow = async (id) => {
    const ok = await page.$$eval('#traces tbody tr', (trs, want) => {
      const tr = trs.find((t) => t.dataset.traceId.replace(/-/g, '').toLowerCase() === want);
      if (!tr) return false;
      tr.querySelector('a.trace-link').click();
      return true;
    }, norm(id));
    check(ok, 'row of ' + id + ' in the list');
  };

  await step('wrong key shows the API message', async () => {
    await page.goto(base + '/');
    eq(new URL(page.url()).pathname, '/ui/', 'GET / redirects to /ui/');
    await page.fill('#key', fx.bad_key);
    await page.click('#signin-btn');
    await page.waitForFunction(() => document.querySelector('#signin-error').textContent !== '');
    eq(await page.textContent('#signin-error'), fx.bad_key_message, 'sign-in error');
    check(await page.isVisible('#signin'), 'still on the sign-in form');
    eq(await page.evaluate(() => sessionStorage.length), 0, 'nothing stored for a wrong key');
  });

  await step('sign in shows the workspace', async () => {
    await page.fill('#key', fx.key);
    await page.click('#signin-btn');
    await page.waitForSelector('#who:not([hidden])');
    eq(await page.textContent('#ws-name'), fx.workspace, 'workspace name');
    eq(await page.evaluate(() => sessionStorage.getItem('tracestore.key')), fx.key, 'key in sessionStorage');
    eq(await page.evaluate(() => document.cookie), '', 'no cookie');
    check(!page.url().includes(fx.key), 'key not in the URL');
  });

  await step('the trace is in the list, newest first, with its columns', async () => {
    const rows = await waitList();
    check(listHas(rows, fx.agent.id), 'agent trace listed');
    const names = await page.$$eval('#traces tbody tr td.name', (tds) => tds.map((t) => t.textContent));
    eq(names[0], fx.newest_name, 'newest trace first');
    const cells = await rowCells(fx.agent.id);
    check(cells, 'agent row present');
    eq(cells[0], fx.agent.name, 'name column');
    eq(cells[3], String(fx.agent.spans.length), 'span count column');
    eq(cells[4], fmtInt(fx.agent.total_tokens), 'tokens column');
    eq(cells[5], fmtCost(fx.agent.cost), 'cost column');
    check(cells[7].startsWith('error'), 'status column shows the error: ' + cells[7]);
    eq((await rowCells(fx.delete.id))[7], 'ok', 'status of a trace without errors');
  });

  await step('cursor paging reaches older traces', async () => {
    const first = await rowsOf();
    eq(first.length, 50, 'first page is full');
    await page.click('#next');
    await page.waitForFunction(() => new URLSearchParams(location.search).has('cursor'));
    await page.waitForSelector('#prev');
    const second = await waitList();
    check(second.length > 0 && !second.some((id) => first.includes(id)), 'page 2 holds other traces');
    check(listHas(second, fx.oldest_id), 'the oldest trace is on page 2');
    await page.click('#prev');
    await page.waitForFunction(() => !new URLSearchParams(location.search).has('cursor'));
    const back = await waitList();
    eq(back.join(), first.join(), 'previous page is the first page again');
  });

  const applyFilters = async (f) => {
    await page.click('#reset');
    await page.waitForSelector('#traces');
    for (const [name, v] of Object.entries(f)) {
      if (name === 'errors') await page.check('#filters input[name=errors]');
      else await page.fill(`#filters input[name=${name}]`, String(v));
    }
    const before = page.url();
    await page.click('#apply');
    await page.waitForFunction((u) => location.href !== u, before);
    return waitList();
  };

  await step('filters take the trace in and out', async () => {
    const cases = [
      [{ name: 'checkout' }, true], [{ name: 'no-such-name' }, false],
      [{ model: fx.agent.llm_model }, true], [{ model: 'no-such-model' }, false],
      [{ errors: 1 }, true],
      [{ tok_min: fx.agent.total_tokens }, true], [{ tok_min: fx.agent.total_tokens + 1 }, false],
      [{ tok_min: 1, tok_max: fx.agent.total_tokens - 1 }, false],
      // with a name filter the list comes from Respan's, where the token ceiling takes an alias
      [{ name: 'checkout', tok_min: 1, tok_max: fx.agent.total_tokens }, true],
      [{ name: 'checkout', tok_min: 1, tok_max: fx.agent.total_tokens - 1 }, false],
      [{ name: 'checkout', tok_max: fx.agent.total_tokens - 1 }, false],
      [{ cost_min: fx.agent.cost * 0.99 }, true], [{ cost_min: fx.agent.cost * 1.01 }, false],
      [{ cost_min: fx.agent.cost * 0.5, cost_max: fx.agent.cost * 2 }, true],
      [{ cost_min: fx.agent.cost * 0.5, cost_max: fx.agent.cost * 0.9 }, false], [{ cost_max: fx.agent.cost / 2 }, false],
    ];
    for (const [f, want] of cases) {
      const rows = await applyFilters(f);
      eq(listHas(rows, fx.agent.id), want, 'agent trace listed with ' + JSON.stringify(f));
    }
    let rows = await applyFilters({ errors: 1 });
    eq(listHas(rows, fx.delete.id), false, 'errors only drops the trace without errors');
    // the time range, through the URL (shared state)
    const after = new Date(Date.parse(fx.agent.started_at) + 60000).toISOString();
    await page.goto(base + '/ui/?view=list&from=' + encodeURIComponent(after));
    eq(listHas(await waitList(), fx.agent.id), false, 'from after its start drops it');
    await page.goto(base + '/ui/?view=list&to=' + encodeURIComponent(after) + '&from=' + encodeURIComponent(fx.agent.started_at));
    eq(listHas(await waitList(), fx.agent.id), true, 'a range around its start keeps it');
    // the filter state is in the URL (never the key) and survives a reload
    rows = await applyFilters({ name: 'checkout', tok_min: 10 });
    const url = new URL(page.url());
    eq(url.searchParams.get('name'), 'checkout', 'name filter in the URL');
    check(!page.url().includes(fx.key), 'key not in the URL');
    await page.reload();
    const again = await waitList();
    eq(again.join(), rows.join(), 'reload shows the same rows');
    eq(await page.inputValue('#filters input[name=name]'), 'checkout', 'reload restores the filter form');
  });

  await step('sorting by cost, tokens and duration', async () => {
    await page.goto(base + '/ui/?view=list');
    await waitList();
    for (const col of ['cost', 'tokens', 'duration']) {
      await page.click(`th button.sort[data-sort=${col}]`);
      await page.waitForFunction((c) => new URLSearchParams(location.search).get('sort') === c, col);
      const rows = await waitList();
      check(sameTrace(rows[0], fx['top_by_' + col]), `highest ${col} first (got ${rows[0]})`);
    }
  });

  await step('trace detail: header totals match the API', async () => {
    await page.goto(base + '/ui/?view=list');
    await waitList();
    await openRow(fx.agent.id);
    await page.waitForSelector('#waterfall');
    const api = (await apiGet('/v1/traces/' + fx.agent.id)).json;
    const v = async (k) => page.textContent(`#trace-summary [data-k=${k}] .v`);
    eq(await v('spans'), fmtInt(api.span_count), 'spans');
    eq(await v('prompt'), fmtInt(api.prompt_tokens_total), 'prompt tokens');
    eq(await v('completion'), fmtInt(api.completion_tokens_total), 'completion tokens');
    eq(await v('total'), fmtInt(api.total_token_count), 'total tokens');
    eq(await v('cost'), fmtCost(api.cost), 'cost');
    eq(api.total_token_count, fx.agent.total_tokens, 'API total tokens as ingested');
    check((await v('latency')).startsWith(api.latency_ms >= 1000 ? (api.latency_ms / 1000).toFixed(2) : String(api.latency_ms)), 'latency');
    check((await v('status')).startsWith('error'), 'status error');
    eq(await v('state'), 'open', 'open trace');
    eq(await v('models'), fx.agent.models, 'models of the spans');
  });

  await step('waterfall: one row per span, nested by parent, bars placed by time', async () => {
    const rows = await page.$$eval('#waterfall .wf-row', (rs) => rs.map((r) => ({
      name: r.querySelector('.wf-name').textContent, depth: Number(r.dataset.depth),
      llm: r.classList.contains('llm'), error: r.classList.contains('error'),
      left: parseFloat(r.querySelector('.wf-bar').style.left), width: parseFloat(r.querySelector('.wf-bar').style.width),
      tags: [...r.querySelectorAll('.tag')].map((t) => t.textContent),
    })));
    eq(rows.length, fx.agent.spans.length, 'one row per span');
    eq(JSON.stringify(rows.map((r) => [r.name, r.depth])), JSON.stringify(fx.agent.order.map((o) => [o.name, o.depth])), 'order and nesting');
    const t0 = Date.parse(fx.agent.started_at), total = fx.agent.duration_ms;
    for (const r of rows) {
      const sp = fx.agent.spans.find((s) => s.name === r.name);
      const wantLeft = (sp.start_ms / total) * 100, wantWidth = ((sp.end_ms - sp.start_ms) / total) * 100;
      check(Math.abs(r.left - wantLeft) < 0.01 && Math.abs(r.width - wantWidth) < 0.01,
        `bar of ${r.name}: left ${r.left} width ${r.width}, want ${wantLeft} ${wantWidth}`);
      eq(r.llm, !!sp.model, `${r.name} marked as LLM`);
      eq(r.error, !!sp.error, `${r.name} marked as errored`);
      if (sp.model) check(r.tags.some((t) => t.includes(sp.model) && t.includes(String(sp.in_tok + sp.out_tok))), `${r.name} shows model and tokens: ${r.tags}`);
    }
    check(t0 > 0, 'start time');
  });

  await step('LLM span detail: model, tokens, messages, folded long text', async () => {
    await page.click(`#waterfall .wf-row:has(.wf-name:text-is("${fx.agent.llm_name}"))`);
    await page.waitForSelector('#span-name');
    eq(await page.textContent('#span-name'), fx.agent.llm_name, 'span name');
    const k = (n) => page.textContent(`#span-kv [data-k=${n}]`);
    eq(await k('model'), fx.agent.llm_model, 'model');
    eq(await k('prompt_tokens'), String(fx.agent.llm_in), 'prompt tokens');
    eq(await k('completion_tokens'), String(fx.agent.llm_out), 'completion tokens');
    eq(await k('kind'), 'SpanKind.CLIENT', 'kind');
    eq(await k('status'), 'StatusCode.OK', 'status');
    eq(await k('cost'), fmtCost(fx.agent.llm_price), 'cost');
    eq(await page.textContent('#span-input .msg.user .role'), 'user', 'input is a user message');
    eq(await page.textContent('#span-input .msg.user pre'), fx.agent.llm_input, 'input message text');
    eq(await page.textContent('#span-output .msg.assistant pre'), fx.agent.llm_output, 'output message text');
    check((await page.textContent('#span-resource')).includes('service.name'), 'resource shown');
    check((await page.textContent('#span-attributes')).includes(fx.agent.llm_attr), 'attributes shown');
    // the long answer of the other LLM span is folded
    await page.click(`#waterfall .wf-row:has(.wf-name:text-is("${fx.agent.long_name}"))`);
    await page.waitForSelector('#span-output button.unfold');
    const folded = await page.textContent('#span-output .msg.assistant pre');
    check(folded.length < fx.agent.long_output.length, 'long output folded');
    await page.click('#span-output button.unfold');
    eq(await page.textContent('#span-output .msg.assistant pre'), fx.agent.long_output, 'unfolded output');
    // the errored span shows its status and error
    await page.click(`#waterfall .wf-row:has(.wf-name:text-is("${fx.agent.error_name}"))`);
    await page.waitForSelector(`#span-name:text-is("${fx.agent.error_name}")`);
    eq(await k('status'), 'StatusCode.ERROR: ' + fx.agent.error_text, 'errored span status');
  });

  if (fx.shots) {
    await page.click(`#waterfall .wf-row:has(.wf-name:text-is("${fx.agent.llm_name}"))`);
    await page.screenshot({ path: join(fx.shots, 'ui-waterfall.png') });
    await page.goto(base + '/ui/?view=list');
    await waitList();
    await page.screenshot({ path: join(fx.shots, 'ui-list.png'), clip: { x: 0, y: 0, width: 1280, height: 520 } });
  }

  await step('a 2,000-span trace renders every row', async () => {
    const t0 = Date.now();
    await page.goto(base + '/ui/?view=trace&id=' + encodeURIComponent(fx.big.id));
    await page.waitForSelector('#waterfall');
    const ms = Date.now() - t0;
    const n = await page.$$eval('#waterfall .wf-row', (rs) => rs.length);
    eq(n, fx.big.spans, 'rows of the big trace');
    // nesting: every row's parent comes before it, one level up, with only deeper rows between
    const bad = await page.$$eval('#waterfall .wf-row', (rs) => {
      const at = new Map();
      rs.forEach((r, i) => at.set(r.dataset.spanId, i));
      for (let i = 0; i < rs.length; i++) {
        const p = rs[i].dataset.parentId;
        if (!p) continue;
        const j = at.get(p);
        if (j === undefined || j >= i || Number(rs[j].dataset.depth) + 1 !== Number(rs[i].dataset.depth)) return i;
        for (let k = j + 1; k < i; k++) if (Number(rs[k].dataset.depth) <= Number(rs[j].dataset.depth)) return i;
      }
      return -1;
    });
    eq(bad, -1, 'first badly nested row');
    const t1 = Date.now();
    await page.click('#waterfall .wf-row:nth-child(1500)');
    await page.waitForSelector('#span-kv');
    results.push({ big_trace_load_ms: ms, big_trace_click_ms: Date.now() - t1 });
  });

  await step('close and delete, each confirmed, show the API answer', async () => {
    await page.goto(base + '/ui/?view=trace&id=' + encodeURIComponent(fx.delete.id));
    await page.waitForSelector('#trace-summary');
    eq(await page.textContent('#trace-summary [data-k=state] .v'), 'open', 'open before close');
    await page.click('#close-trace');
    await page.click('#confirm-no');
    eq(await page.$('#confirm'), null, 'cancel removes the question');
    eq((await apiGet('/v1/traces/' + fx.delete.id + '/state')).json.closed, false, 'cancel closes nothing');
    await page.click('#close-trace');
    await page.click('#confirm-yes');
    await page.waitForFunction(() => document.querySelector('#action-answer').textContent !== '');
    const closeAnswer = await page.textContent('#action-answer');
    check(closeAnswer.startsWith('HTTP 201: {"success":true') && closeAnswer.includes('"status":"closed"'), 'close answer: ' + closeAnswer);
    eq(await page.textContent('#trace-summary [data-k=state] .v'), 'closed', 'closed after close');
    eq((await apiGet('/v1/traces/' + fx.delete.id + '/state')).json.closed, true, 'closed in the API');
    await page.click('#delete-trace');
    check((await page.textContent('#confirm')).includes('Delete this trace'), 'delete asks first');
    await page.click('#confirm-yes');
    await page.waitForFunction(() => document.querySelector('#action-answer').textContent.includes('HTTP 200'));
    const delAnswer = await page.textContent('#action-answer');
    check(delAnswer.startsWith('HTTP 200: Successfully deleted trace ') && norm(delAnswer).endsWith(norm(fx.delete.id)), 'delete answer: ' + delAnswer);
    eq((await apiGet('/v1/traces/' + fx.delete.id)).status, 404, 'gone from the API');
    await page.goto(base + '/ui/?view=list');
    eq(listHas(await waitList(), fx.delete.id), false, 'gone from the list');
    await page.goto(base + '/ui/?view=trace&id=' + encodeURIComponent(fx.delete.id));
    eq(await page.textContent('#trace-error'), 'Trace not found.', 'deleted trace looks missing');
  });

  await step('markup in a span is shown as text', async () => {
    await page.goto(base + '/ui/?view=list&name=' + encodeURIComponent('onerror'));
    await waitList();
    eq((await rowCells(fx.xss.id))[0], fx.xss.name, 'list shows the characters');
    await openRow(fx.xss.id);
    await page.waitForSelector('#waterfall');
    eq(await page.textContent('#trace-name'), fx.xss.name, 'title shows the characters');
    eq(await page.textContent('#waterfall .wf-name'), fx.xss.name, 'waterfall shows the characters');
    await page.click('#waterfall .wf-row');
    await page.waitForSelector('#span-input');
    eq(await page.textContent('#span-input .msg.user pre'), fx.xss.input, 'input shows the characters');
    await page.waitForTimeout(300);
    eq(await page.$$eval('img', (x) => x.length), 0, 'no img element');
    eq(await page.$$eval('script', (x) => x.length), 2, 'only the two page scripts');
    eq(dialogs.length, 0, 'no dialog: ' + dialogs.join());
    check(!requests.some((u) => /\/x$/.test(u)), 'no request for the img src');
  });

  await step("another workspace's trace looks missing", async () => {
    await page.goto(base + '/ui/?view=trace&id=' + encodeURIComponent(fx.other_ws_id));
    const other = await page.textContent('#trace-error');
    await page.goto(base + '/ui/?view=trace&id=' + encodeURIComponent(fx.missing_id));
    const missing = await page.textContent('#trace-error');
    eq(other, missing, 'same page as a missing trace');
    eq(other, 'Trace not found.', 'not found');
    check(!(await page.textContent('body')).includes(fx.other_ws_name), 'nothing of it shown');
  });

  await step('overview charts from /v1/metrics', async () => {
    await page.goto(base + '/ui/?view=overview&range=24h');
    await page.waitForSelector('#chart-model-requests');
    const m = (await apiGet('/v1/metrics')).json;
    eq(await page.textContent('#overview-summary [data-k=traces] .v'), fmtInt(m.total_traces), 'traces in the summary');
    const sums = await page.evaluate(() => {
      const sum = (id) => Chart.getChart(id).data.datasets[0].data.reduce((a, b) => a + b, 0);
      return { req: sum('chart-requests'), cost: sum('chart-cost'), tok: sum('chart-tokens'),
               models: Chart.getChart('chart-model-requests').data.labels };
    });
    eq(sums.req, m.total_traces, 'requests over time add up to the total');
    check(Math.abs(sums.cost - m.total_cost) < 1e-9, `cost over time adds up: ${sums.cost} vs ${m.total_cost}`);
    eq(sums.tok, fx.tokens_24h, 'tokens over time add up');
    check(sums.models.includes(fx.chart_model), 'a model bar: ' + sums.models);
    if (fx.shots) await page.screenshot({ path: join(fx.shots, 'ui-overview.png') });
  });

  await step('sign out forgets the key', async () => {
    await page.click('#signout');
    await page.waitForSelector('#signin:not([hidden])');
    eq(await page.evaluate(() => sessionStorage.getItem('tracestore.key')), null, 'key forgotten');
    await page.goto(base + '/ui/?view=list');
    check(await page.isVisible('#signin'), 'a reload asks for a key again');
  });

  eq(csp.length, 0, 'no CSP violation: ' + csp.join(' | '));
  eq(pageErrors.length, 0, 'no page error: ' + pageErrors.join(' | '));
  check(!requests.some((u) => !u.startsWith(base) && !u.startsWith('data:')), 'every request went to the daemon');
} catch (e) {
  failed = e;
} finally {
  await browser.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify({ ok: !failed, results, error: failed ? String(failed.stack || failed) : null }));
process.exit(failed ? 1 : 0);
