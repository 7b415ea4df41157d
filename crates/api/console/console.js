// The krkn telemetry web console: one ES module, no framework, no build step.
//
// The page (index.html) is the same for every view; this script reads the view from
// location.pathname relative to <base href> (which the server sets so that the console works
// under an API Gateway stage prefix), fetches what it needs from the API with the Basic
// credentials the user signed in with, and draws it. Links are real <a href> elements;
// same-app clicks are turned into History API navigations.
//
// Views:   console/                         runs list, filters, charts
//          console/runs/<group>/<request_id> one run
//          files/ | files/<g>/ | files/<g>/<run>/   the group / run / file browser
//
// The Content Security Policy allows no inline script or style: everything here is built
// with DOM calls (never innerHTML from data), and charts are SVG elements with attributes.

const CREDENTIALS_KEY = 'krkn-console-credentials';
const CONSOLE_HEADER = ['X-Requested-With', 'krkn-console'];
/** Runs per table page unless the URL says `limit=` (1-500). */
const TABLE_PAGE = 50;
/** Runs the outcome chart reads at most (pages of 500). */
const CHART_PAGES = 4;
const CHART_PAGE = 500;
/** Scenario rows the duration chart reads at most. */
const CHART_MAX_SCENARIOS = 50000;
/** Export continuations (X-Next-Cursor) the duration chart follows at most. */
const CHART_EXPORT_PAGES = 5;
/** The run filters of GET api/v1/runs that the filter form edits, in form order. */
const FILTERS = ['group', 'scenario_type', 'major_version', 'cloud', 'job_status', 'run_tag', 'since', 'until'];

const app = document.getElementById('app');
const statusRegion = document.getElementById('status');
const sessionBox = document.getElementById('session');
const main = document.getElementById('content');

// ---------------------------------------------------------------------------------------
// DOM helpers

/**
 * Creates an element. `attrs`: `class`, `text`, `on<event>` (a listener), `dataset` (object),
 * anything else becomes an attribute (skipped when null/undefined/false). Children may be
 * strings, nodes, null or arrays of them.
 */
function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Like h() for SVG elements. */
function s(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Replaces an element's children; null, undefined and false children are skipped. */
function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A table in a focusable scroll container (narrow screens scroll it, keyboards too). */
function table(caption, headers, rows, { numeric = [] } = {}) {
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
    h('table', {},
      h('caption', { text: caption }),
      h('thead', {}, h('tr', {}, headers.map((name, i) =>
        h('th', { scope: 'col', class: numeric.includes(i) ? 'num' : null, text: name })))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, i) =>
        h('td', { class: numeric.includes(i) ? 'num' : null }, cell)))))));
}

/** A path in <code>, breakable after each `/` (long scenario paths wrap, not overflow). */
function pathCode(path) {
  const parts = String(path).split('/');
  return h('code', {}, parts.map((part, i) => (i < parts.length - 1 ? [part + '/', h('wbr')] : part)));
}

/** Definition list of [term, value] pairs (values may be nodes). */
function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([term, value]) =>
    h('div', {}, h('dt', { text: term }), h('dd', {}, value ?? '—'))));
}

function section(title, ...children) {
  return h('section', { 'aria-labelledby': idFor(title) }, h('h2', { id: idFor(title), text: title }), children);
}

function idFor(text) {
  return 'h-' + text.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/** Says something to screen readers (and sighted users see the view change). */
function announce(text) {
  statusRegion.textContent = text;
}

function errorBox(error) {
  const box = h('div', { class: 'error', role: 'alert' });
  if (error instanceof ApiError && error.status === 403) {
    append(box, [h('strong', { text: 'Access denied (403). ' }), error.message,
      h('p', { text: 'Sign in as a user with the reader or admin role and access to this group.' })]);
  } else if (error instanceof ApiError) {
    append(box, [h('strong', { text: `The service answered ${error.status}${error.statusText ? ' ' + error.statusText : ''}: ` }), error.message]);
  } else {
    append(box, [h('strong', { text: 'Something went wrong: ' }), String(error && error.message || error)]);
  }
  return box;
}

// ---------------------------------------------------------------------------------------
// Formatting

const numberFormat = new Intl.NumberFormat('en');

function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return '—';
  const value = Number(seconds);
  if (value < 120) return `${round(value)} s`;
  const minutes = Math.floor(value / 60);
  const rest = Math.round(value - minutes * 60);
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

function round(value) {
  return Math.abs(value) >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

/** `2026-12-01 04:18 UTC` in a <time> element (UTC everywhere: the filters are UTC dates). */
function time(value) {
  if (value === null || value === undefined || value === '') return '—';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const text = date.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  return h('time', { datetime: date.toISOString(), text });
}

function outcomeOf(jobStatus) {
  return jobStatus === true ? 'passed' : jobStatus === false ? 'failed' : 'unknown';
}

function outcomeBadge(jobStatus) {
  const outcome = outcomeOf(jobStatus);
  return h('span', { class: `badge ${outcome}`, text: outcome });
}

function exitBadge(exitStatus) {
  if (exitStatus === null || exitStatus === undefined) return h('span', { class: 'badge unknown', text: 'unknown' });
  return h('span', { class: `badge ${exitStatus === 0 ? 'passed' : 'failed'}`, text: exitStatus === 0 ? '0 passed' : `${exitStatus} failed` });
}

// ---------------------------------------------------------------------------------------
// Credentials and the API

class ApiError extends Error {
  constructor(status, statusText, message) {
    super(message || statusText || `HTTP ${status}`);
    this.status = status;
    this.statusText = statusText;
  }
}

/** Raised when the API wants credentials; the caller shows the sign-in form. */
class SignInNeeded extends Error {}

function credentials() {
  try {
    return JSON.parse(sessionStorage.getItem(CREDENTIALS_KEY) || 'null');
  } catch {
    return null;
  }
}

function storeCredentials(username, password) {
  sessionStorage.setItem(CREDENTIALS_KEY, JSON.stringify({ username, password }));
}

function forgetCredentials() {
  sessionStorage.removeItem(CREDENTIALS_KEY);
}

/** base64 of UTF-8 `user:password` (btoa alone only takes Latin-1). */
function basic({ username, password }) {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return 'Basic ' + btoa(binary);
}

/** A URL of the service, relative to <base href> (keeps any stage prefix). */
function serviceUrl(path) {
  return new URL(path, document.baseURI);
}

/** Path segment, encoded. */
const seg = encodeURIComponent;

/**
 * A request to the API (GET unless `method` says otherwise) with the stored credentials. Throws SignInNeeded (no credentials or a
 * 401: the stored ones are dropped, `lastSignInError` keeps the service's words) or ApiError
 * with the body of any other non-2xx answer.
 */
async function api(path, { signal, method = 'GET' } = {}) {
  const stored = credentials();
  if (!stored) throw new SignInNeeded();
  const response = await fetch(serviceUrl(path), {
    method,
    headers: { Authorization: basic(stored), [CONSOLE_HEADER[0]]: CONSOLE_HEADER[1], Accept: 'application/json' },
    cache: 'no-store',
    signal,
  });
  if (response.status === 401) {
    forgetCredentials();
    lastSignInError = (await response.text()).trim() || 'unknown user or wrong password';
    throw new SignInNeeded();
  }
  if (!response.ok) {
    throw new ApiError(response.status, response.statusText, (await response.text()).trim());
  }
  return response;
}

async function apiJson(path, options) {
  return (await api(path, options)).json();
}

let lastSignInError = null;

// ---------------------------------------------------------------------------------------
// Routing

/** The service root's path, e.g. `/` or `/production/`. */
function basePath() {
  return new URL(document.baseURI).pathname;
}

/** The current path relative to the service root, e.g. `console/runs/ci/123`. */
function relativePath(url = location) {
  const base = basePath();
  return url.pathname.startsWith(base) ? url.pathname.slice(base.length) : url.pathname.replace(/^\//, '');
}

/** The view a relative path names, or null for a path this script does not draw. */
function viewFor(path) {
  const parts = path.split('/').map((part) => {
    try { return decodeURIComponent(part); } catch { return part; }
  });
  if (parts[0] === 'console') {
    if (parts[1] === 'assets') return null;
    if (parts[1] === 'runs' && parts[2] && parts[3]) return { name: 'run', group: parts[2], requestId: parts[3] };
    if (parts.length <= 2 && !parts[1]) return { name: 'runs' };
    return { name: 'missing' };
  }
  if (parts[0] === 'files') {
    const [group, run] = parts.slice(1).filter(Boolean);
    return { name: 'files', group, run };
  }
  return null;
}

function navigate(href, { replace = false } = {}) {
  const url = new URL(href, document.baseURI);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render({ focus: true });
}

// Same-app link clicks become History API navigations; anything a browser does specially
// (new tab, download, other origin, modifier keys) is left alone.
document.addEventListener('click', (event) => {
  const link = event.target.closest && event.target.closest('a[href]');
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.classList.contains('skip-link')) {
    // `#content` would resolve against <base href>, i.e. leave the page: focus instead.
    event.preventDefault();
    main.focus();
    return;
  }
  if (link.hasAttribute('download') || (link.target && link.target !== '_self')) return;
  const url = new URL(link.href);
  if (url.origin !== location.origin || !viewFor(relativePath(url))) return;
  event.preventDefault();
  if (url.href !== location.href) navigate(url.href);
});

window.addEventListener('popstate', () => render({ focus: true }));

// ---------------------------------------------------------------------------------------
// Page frame: session box, sign-in, view dispatch

/** Bumped on every render; async work drops its result when a newer render started. */
let generation = 0;

function current(token) {
  return token === generation;
}

function drawSession() {
  fill(sessionBox);
  const stored = credentials();
  if (!stored) return;
  append(sessionBox, [
    h('span', { class: 'user' }, 'Signed in as ', h('strong', { text: stored.username })),
    h('button', {
      type: 'button', class: 'secondary', text: 'Sign out',
      onclick: () => {
        forgetCredentials();
        lastSignInError = null;
        announce('Signed out.');
        render({ focus: true });
      },
    }),
  ]);
}

function markSection(view) {
  const active = view && (view.name === 'files' ? 'files' : 'runs');
  for (const link of document.querySelectorAll('.site-header nav a')) {
    if (link.dataset.section === active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function heading(text) {
  return h('h1', { tabindex: -1, text });
}

function setTitle(text) {
  document.title = `${text} · krkn telemetry`;
}

function showSignIn() {
  setTitle('Sign in');
  const error = lastSignInError;
  const form = h('form', { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title', tabindex: -1, text: 'Sign in' }),
    h('p', { text: 'Use your krkn telemetry account (role reader or admin). The credentials stay in this browser tab only.' }),
    error ? h('div', { class: 'error', role: 'alert' }, h('strong', { text: 'Sign-in failed: ' }), error) : null,
    h('label', { for: 'username', text: 'Username' }),
    h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' }),
    h('label', { for: 'password', text: 'Password' }),
    h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('button', { type: 'submit', text: 'Sign in' }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    storeCredentials(String(data.get('username')), String(data.get('password')));
    lastSignInError = null;
    announce('Signing in…');
    render({ focus: true });
  });
  fill(app, form);
  drawSession();
  (error ? form.querySelector('#password') : form.querySelector('#username')).focus();
}

/** Draws the view of the current URL. `focus`: move focus to the new heading. */
async function render({ focus = false } = {}) {
  const token = ++generation;
  // aria-busy: assistive technology (and the browser tests) know when the view is drawn.
  app.setAttribute('aria-busy', 'true');
  try {
    await renderView(token, focus);
  } finally {
    if (current(token)) app.setAttribute('aria-busy', 'false');
  }
}

/** Set by a navigation: the new view's heading takes focus once its main content is drawn. */
let focusPending = false;

/** Set before a navigation: a line the next view shows under its heading (and announces). */
let pendingNotice = null;

function showNotice(token) {
  if (!pendingNotice || !current(token)) return;
  const text = pendingNotice;
  pendingNotice = null;
  app.querySelector('h1')?.after(h('p', { class: 'notice', text }));
  announce(text);
}

/** Called by a view when its main content is drawn (and by render at the end, as a fallback). */
function settleFocus(token) {
  if (!focusPending || !current(token)) return;
  focusPending = false;
  app.querySelector('h1')?.focus();
}

async function renderView(token, focus) {
  focusPending = focus;
  const view = viewFor(relativePath());
  markSection(view);
  drawSession();
  if (!credentials()) {
    showSignIn();
    return;
  }
  try {
    if (!view || view.name === 'missing') drawMissing();
    else if (view.name === 'runs') await drawRuns(token);
    else if (view.name === 'run') await drawRun(token, view);
    else if (view.name === 'files') await drawFiles(token, view);
    showNotice(token);
    settleFocus(token);
  } catch (error) {
    if (!current(token)) return;
    if (error instanceof SignInNeeded) {
      showSignIn();
      return;
    }
    // Replace what was still loading; put the message right under the heading.
    for (const el of app.querySelectorAll('.loading')) el.remove();
    const box = errorBox(error);
    const h1 = app.querySelector('h1');
    if (h1) h1.after(box);
    else app.append(box);
    announce(`Error: ${error.message}`);
    settleFocus(token);
  }
}

function drawMissing() {
  setTitle('Not found');
  fill(app, heading('Nothing here'),
    h('p', {}, 'The console has no page at this address. ', h('a', { href: 'console/', text: 'Go to the runs' }), '.'));
}

/** Runs an async part of a view; its failure is shown in `slot` without breaking the rest. */
async function part(token, slot, work) {
  try {
    await work();
  } catch (error) {
    if (!current(token)) return;
    if (error instanceof SignInNeeded) { render({ focus: true }); return; }
    fill(slot, errorBox(error));
  }
}

// ---------------------------------------------------------------------------------------
// Runs list

/** The filters in the page URL (form values, e.g. since=2026-12-01). */
function filtersFromUrl() {
  const params = new URLSearchParams(location.search);
  const filters = {};
  for (const name of FILTERS) {
    const value = (params.get(name) || '').trim();
    if (value) filters[name] = value;
  }
  return filters;
}

/** The API query of some filters: dates become UTC day bounds (the API takes RFC 3339). */
function apiQuery(filters, extra = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) {
    if (name === 'since' && /^\d{4}-\d{2}-\d{2}$/.test(value)) query.set(name, `${value}T00:00:00Z`);
    else if (name === 'until' && /^\d{4}-\d{2}-\d{2}$/.test(value)) query.set(name, `${value}T23:59:59Z`);
    else query.set(name, value);
  }
  for (const [name, value] of Object.entries(extra)) if (value !== null && value !== undefined) query.set(name, value);
  return query;
}

function filterForm(filters, groups) {
  const field = (name, label, control, hint) => h('div', { class: 'field' },
    h('label', { for: `filter-${name}`, text: label }), control,
    hint ? h('span', { class: 'hint', id: `filter-${name}-hint`, text: hint }) : null);
  const input = (name, attrs = {}) => h('input', {
    id: `filter-${name}`, name, value: filters[name] || '', ...attrs,
  });
  const outcome = h('select', { id: 'filter-job_status', name: 'job_status' },
    [['', 'any'], ['true', 'passed'], ['false', 'failed']].map(([value, text]) =>
      h('option', { value, text, selected: normalisedOutcome(filters.job_status) === value })));
  const form = h('form', { class: 'filters', method: 'get', action: 'console/', role: 'search', 'aria-label': 'Run filters' },
    h('datalist', { id: 'known-groups' }, groups.map((g) => h('option', { value: g }))),
    h('div', { class: 'fields' },
      field('group', 'Group', input('group', { list: 'known-groups', autocomplete: 'off' })),
      field('scenario_type', 'Scenario type', input('scenario_type', { placeholder: 'node_scenarios' })),
      field('major_version', 'Major version', input('major_version', { placeholder: '4.18', inputmode: 'decimal' })),
      field('cloud', 'Cloud', input('cloud', { placeholder: 'AWS' })),
      field('job_status', 'Outcome', outcome),
      field('run_tag', 'Run tag contains', input('run_tag')),
      field('since', 'Filed since (UTC)', input('since', { type: 'date' })),
      field('until', 'Filed until (UTC)', input('until', { type: 'date' }))),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', text: 'Apply filters' }),
      h('a', { href: 'console/', class: 'button secondary', text: 'Clear filters' })));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (String(value).trim()) query.set(name, String(value).trim());
    }
    const text = query.toString();
    navigate(`console/${text ? '?' + text : ''}`);
  });
  return form;
}

function normalisedOutcome(value) {
  if (value === 'true' || value === 'passed') return 'true';
  if (value === 'false' || value === 'failed') return 'false';
  return '';
}

/** Groups for the filter's suggestions; an empty list when they cannot be read. */
async function knownGroups() {
  try {
    const entries = await apiJson('navigate');
    return entries.filter((e) => e.type === 'folder').map((e) => e.path.replace(/\/$/, ''));
  } catch (error) {
    if (error instanceof SignInNeeded) throw error;
    return [];
  }
}

function runLink(run) {
  return `console/runs/${seg(run.group)}/${seg(run.request_id)}`;
}

function runRow(run) {
  return h('tr', { dataset: { group: run.group, requestId: run.request_id } },
    h('td', {}, time(run.filed_at)),
    h('td', { text: run.group }),
    h('td', { class: 'id' }, h('a', { href: runLink(run), text: run.request_id })),
    h('td', { text: run.cluster_version || '—' }),
    h('td', { text: run.cloud_infrastructure || '—' }),
    h('td', {}, (run.scenario_types || []).length
      ? h('ul', { class: 'plain' }, run.scenario_types.map((t) => h('li', { text: t })))
      : '—'),
    h('td', {}, outcomeBadge(run.job_status)),
    h('td', { class: 'num', text: run.scenario_count ?? '—' }));
}

async function drawRuns(token) {
  setTitle('Runs');
  const filters = filtersFromUrl();
  const params = new URLSearchParams(location.search);
  // `limit=` in the page URL sets the table's page size (not in the form; handy for links).
  const limit = /^\d+$/.test(params.get('limit') || '') ? params.get('limit') : String(TABLE_PAGE);
  const active = Object.keys(filters).length;
  const tableSlot = h('div', { class: 'runs-table' }, h('p', { class: 'loading', text: 'Loading runs…' }));
  const outcomeSlot = h('div', { class: 'chart-slot' }, h('p', { class: 'loading', text: 'Loading…' }));
  const durationSlot = h('div', { class: 'chart-slot' }, h('p', { class: 'loading', text: 'Loading…' }));
  const formSlot = h('div', {}, filterForm(filters, []));
  const chartsSection = h('section', { class: 'charts', 'aria-labelledby': 'h-charts' },
    h('h2', { id: 'h-charts', text: 'Charts' }),
    h('div', { class: 'chart-grid' }, outcomeSlot, durationSlot));
  const tableSection = h('section', { 'aria-labelledby': 'h-run-table' },
    h('h2', { id: 'h-run-table', text: 'Matching runs' }),
    tableSlot);
  fill(app,
    heading('Runs'),
    formSlot,
    h('p', { class: 'summary', id: 'runs-summary' }, active ? `${active} filter${active > 1 ? 's' : ''} applied.` : 'All runs you may see, newest filed first.'),
    chartsSection,
    tableSection);
  announce('Loading runs…');

  // The table decides sign-in/403 for the whole view, so it is awaited; the rest draws
  // itself when ready.
  let first;
  try {
    first = await apiJson(`api/v1/runs?${apiQuery(filters, { limit })}`);
  } catch (error) {
    // Nothing to list or chart: the error goes under the heading, the form stays to fix it.
    chartsSection.remove();
    tableSection.remove();
    throw error;
  }
  if (!current(token)) return;
  drawRunTable(token, tableSlot, first, filters, limit);
  settleFocus(token);
  announce(`${first.runs.length}${first.next_cursor ? '+' : ''} runs loaded.`);
  await Promise.all([
    part(token, formSlot, async () => {
      const groups = await knownGroups();
      if (!current(token) || !groups.length) return;
      const list = formSlot.querySelector('#known-groups');
      fill(list, ...groups.map((g) => h('option', { value: g })));
    }),
    part(token, outcomeSlot, () => drawOutcomeChart(token, outcomeSlot, filters)),
    part(token, durationSlot, () => drawDurationChart(token, durationSlot, filters)),
  ]);
}

function drawRunTable(token, slot, page, filters, limit) {
  if (!page.runs.length) {
    fill(slot, h('p', { class: 'empty', text: 'No run matches these filters.' }));
    return;
  }
  const body = h('tbody', {}, page.runs.map(runRow));
  const count = h('p', { class: 'count', 'aria-live': 'polite' });
  const more = h('div', { class: 'more' });
  let shown = page.runs.length;
  const updateCount = (hasMore) => {
    count.textContent = `${shown} run${shown === 1 ? '' : 's'} shown${hasMore ? '; more match' : ''}.`;
  };
  const addMoreButton = (cursor) => {
    fill(more);
    updateCount(Boolean(cursor));
    if (!cursor) return;
    const button = h('button', { type: 'button', class: 'secondary', text: 'Load more runs' });
    button.addEventListener('click', async () => {
      button.disabled = true;
      button.textContent = 'Loading…';
      app.setAttribute('aria-busy', 'true');
      try {
        const next = await apiJson(`api/v1/runs?${apiQuery(filters, { limit, cursor })}`);
        if (!current(token)) return;
        const rows = next.runs.map(runRow);
        body.append(...rows);
        shown += next.runs.length;
        addMoreButton(next.next_cursor);
        announce(`${next.runs.length} more runs loaded.`);
        // Keep the keyboard where the reading goes on: the first new run's link.
        (rows[0]?.querySelector('a') || count).focus();
      } catch (error) {
        if (error instanceof SignInNeeded) { render({ focus: true }); return; }
        fill(more, errorBox(error));
      } finally {
        if (current(token)) app.setAttribute('aria-busy', 'false');
      }
    });
    more.append(button);
  };
  fill(slot,
    h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Runs' },
      h('table', { class: 'runs', id: 'runs-table' },
        h('caption', { class: 'visually-hidden', text: 'Runs, newest filed first' }),
        h('thead', {}, h('tr', {}, ['Filed', 'Group', 'Request id', 'Cluster version', 'Cloud', 'Scenario types', 'Outcome', 'Scenarios']
          .map((name, i) => h('th', { scope: 'col', class: i === 7 ? 'num' : null, text: name })))),
        body)),
    count, more);
  addMoreButton(page.next_cursor);
}

// ---------------------------------------------------------------------------------------
// Charts (inline SVG; each has a <figcaption> name, a <title>/<desc> and a data table)

function figure(name, svg, summary, dataTable, note) {
  return h('figure', { class: 'chart', 'aria-label': name },
    h('figcaption', { text: name }),
    svg,
    note ? h('p', { class: 'hint', text: note }) : null,
    h('details', {}, h('summary', { text: `${name}: data table` }), dataTable),
    h('p', { class: 'visually-hidden', text: summary }));
}

/** UTC bucket of a time for a granularity: `2026-12-01`, `2026-12-01 04:00`, `2026-12`. */
function bucketOf(date, unit) {
  const iso = date.toISOString();
  if (unit === 'hour') return `${iso.slice(0, 10)} ${iso.slice(11, 13)}:00`;
  if (unit === 'month') return iso.slice(0, 7);
  return iso.slice(0, 10);
}

/** Every bucket from the first to the last time, so quiet days show as gaps. */
function bucketRange(first, last, unit) {
  const buckets = [];
  const cursor = new Date(first.getTime());
  if (unit === 'hour') cursor.setUTCMinutes(0, 0, 0);
  else cursor.setUTCHours(0, 0, 0, 0);
  if (unit === 'month') cursor.setUTCDate(1);
  while (cursor <= last && buckets.length < 400) {
    buckets.push(bucketOf(cursor, unit));
    if (unit === 'hour') cursor.setUTCHours(cursor.getUTCHours() + 1);
    else if (unit === 'month') cursor.setUTCMonth(cursor.getUTCMonth() + 1);
    else cursor.setUTCDate(cursor.getUTCDate() + 1);
  }
  return buckets;
}

const OUTCOMES = ['passed', 'failed', 'unknown'];

async function drawOutcomeChart(token, slot, filters) {
  const name = 'Runs over time by outcome';
  const runs = [];
  let cursor = null;
  let pages = 0;
  do {
    const page = await apiJson(`api/v1/runs?${apiQuery(filters, { limit: CHART_PAGE, cursor })}`);
    if (!current(token)) return;
    runs.push(...page.runs);
    cursor = page.next_cursor;
    pages += 1;
  } while (cursor && pages < CHART_PAGES);
  const truncated = Boolean(cursor);
  if (!runs.length) {
    fill(slot, h('figure', { class: 'chart', 'aria-label': name }, h('figcaption', { text: name }), h('p', { class: 'empty', text: 'No runs to chart.' })));
    return;
  }
  const times = runs.map((r) => new Date(r.filed_at)).filter((d) => !Number.isNaN(d.getTime()));
  const first = new Date(Math.min(...times));
  const last = new Date(Math.max(...times));
  const spanDays = (last - first) / 86400000;
  const unit = spanDays <= 2 ? 'hour' : spanDays <= 120 ? 'day' : 'month';
  const buckets = bucketRange(first, last, unit);
  const counts = new Map(buckets.map((b) => [b, { passed: 0, failed: 0, unknown: 0 }]));
  for (const run of runs) {
    const date = new Date(run.filed_at);
    if (Number.isNaN(date.getTime())) continue;
    const bucket = counts.get(bucketOf(date, unit));
    if (bucket) bucket[outcomeOf(run.job_status)] += 1;
  }
  const totals = { passed: 0, failed: 0, unknown: 0 };
  for (const c of counts.values()) for (const o of OUTCOMES) totals[o] += c[o];

  // Geometry in viewBox units; the SVG scales to its container's width.
  const width = 640;
  const height = 260;
  const pad = { left: 44, right: 12, top: 16, bottom: 46 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const maxTotal = Math.max(1, ...[...counts.values()].map((c) => c.passed + c.failed + c.unknown));
  const step = plotW / buckets.length;
  const barW = Math.max(2, Math.min(48, step * 0.7));
  const y = (value) => pad.top + plotH - (value / maxTotal) * plotH;
  const labelEvery = Math.ceil(buckets.length / 8);
  const unitWord = unit === 'hour' ? 'hour' : unit === 'month' ? 'month' : 'day';
  const desc = `${runs.length} runs${truncated ? ' (the newest ' + runs.length + ')' : ''} per ${unitWord} (UTC) from ${buckets[0]} to ${buckets[buckets.length - 1]}: ${totals.passed} passed, ${totals.failed} failed, ${totals.unknown} unknown.`;
  const ticks = niceTicks(maxTotal);

  const svg = s('svg', {
    class: 'outcome-chart', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': 'outcome-title outcome-desc', preserveAspectRatio: 'xMidYMid meet',
  },
  s('title', { id: 'outcome-title', text: name }),
  s('desc', { id: 'outcome-desc', text: desc }),
  ticks.map((tick) => s('g', { class: 'tick' },
    s('line', { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick) }),
    s('text', { x: pad.left - 6, y: y(tick) + 4, 'text-anchor': 'end', text: tick }))),
  buckets.map((bucket, i) => {
    const c = counts.get(bucket);
    const x = pad.left + i * step + (step - barW) / 2;
    let base = 0;
    return s('g', { class: 'bucket', dataset: { bucket } },
      OUTCOMES.filter((o) => c[o] > 0).map((outcome) => {
        const top = base + c[outcome];
        const rect = s('rect', {
          class: `bar ${outcome}`, x, width: barW, y: y(top), height: Math.max(0, y(base) - y(top)),
          dataset: { outcome, count: c[outcome], bucket },
        }, s('title', { text: `${bucket}: ${c[outcome]} ${outcome}` }));
        base = top;
        return rect;
      }),
      i % labelEvery === 0
        ? s('text', { class: 'axis-label', x: x + barW / 2, y: height - pad.bottom + 16, 'text-anchor': 'middle', text: shortBucket(bucket, unit) })
        : null);
  }),
  s('line', { class: 'axis', x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0) }),
  legend(pad.left, height - 12, OUTCOMES.map((o) => [o, `${o} (${totals[o]})`])));

  const rows = buckets.filter((b) => { const c = counts.get(b); return c.passed + c.failed + c.unknown > 0; })
    .map((b) => { const c = counts.get(b); return [b, c.passed, c.failed, c.unknown]; });
  fill(slot, figure(name, svg, desc,
    table(`${name}, per ${unitWord} (UTC)`, [unitWord[0].toUpperCase() + unitWord.slice(1), 'Passed', 'Failed', 'Unknown'], rows, { numeric: [1, 2, 3] }),
    truncated ? `Only the newest ${runs.length} matching runs are charted.` : null));
}

function shortBucket(bucket, unit) {
  if (unit === 'hour') return bucket.slice(5); // 12-01 04:00
  if (unit === 'day') return bucket.slice(5); // 12-01
  return bucket;
}

/** A few round values from 0 to at least `max` for grid lines. */
function niceTicks(max) {
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(1, rough)));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((v) => v >= rough) || magnitude);
  const ticks = [];
  for (let v = 0; v <= max; v += step) ticks.push(v);
  return ticks;
}

function legend(x, y, items) {
  let offset = 0;
  return s('g', { class: 'legend', 'aria-hidden': 'true' }, items.map(([cls, label]) => {
    const g = s('g', { transform: `translate(${x + offset},${y - 10})` },
      s('rect', { class: `bar ${cls}`, width: 12, height: 12, rx: 2 }),
      s('text', { x: 17, y: 10, text: label }));
    offset += 24 + label.length * 7;
    return g;
  }));
}

/** Reads NDJSON rows from a response body as they arrive; stops after `max` rows. */
async function readNdjson(response, onRow, max) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let rows = 0;
  for (;;) {
    const { done, value } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (!line) continue;
      onRow(JSON.parse(line));
      rows += 1;
      if (rows >= max) { await reader.cancel(); return { rows, cut: true }; }
    }
    if (done) break;
  }
  if (buffer.trim()) { onRow(JSON.parse(buffer)); rows += 1; }
  return { rows, cut: false };
}

function median(sorted) {
  if (!sorted.length) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function drawDurationChart(token, slot, filters) {
  const name = 'Scenario durations by type';
  const byType = new Map();
  let total = 0;
  let cut = false;
  let cursor = null;
  let pages = 0;
  do {
    const response = await api(`api/v1/scenarios?${apiQuery(filters, { format: 'ndjson', cursor })}`);
    cursor = response.headers.get('X-Next-Cursor');
    const read = await readNdjson(response, (row) => {
      if (row.duration_seconds === null || row.duration_seconds === undefined) return;
      const type = row.scenario_type || '(no type)';
      if (!byType.has(type)) byType.set(type, []);
      byType.get(type).push(Number(row.duration_seconds));
    }, CHART_MAX_SCENARIOS - total);
    if (!current(token)) return;
    total += read.rows;
    cut = read.cut;
    pages += 1;
  } while (cursor && !cut && pages < CHART_EXPORT_PAGES);
  if (!byType.size) {
    fill(slot, h('figure', { class: 'chart', 'aria-label': name }, h('figcaption', { text: name }), h('p', { class: 'empty', text: 'No scenarios to chart.' })));
    return;
  }
  const stats = [...byType.entries()].map(([type, values]) => {
    values.sort((a, b) => a - b);
    return { type, count: values.length, median: median(values), max: values[values.length - 1] };
  }).sort((a, b) => b.count - a.count || a.type.localeCompare(b.type));

  // One row per type: its name and figures on a line, then the median bar over the max bar.
  const width = 640;
  const rowH = 46;
  const pad = { left: 8, right: 12, top: 8, bottom: 34 };
  const plotW = width - pad.left - pad.right;
  const height = pad.top + stats.length * rowH + pad.bottom;
  const maxValue = Math.max(1, ...stats.map((t) => t.max));
  const x = (value) => pad.left + (value / maxValue) * plotW;
  const desc = `${total} scenarios of ${stats.length} types. ` + stats.map((t) =>
    `${t.type}: ${t.count} scenario${t.count === 1 ? '' : 's'}, median ${formatSeconds(t.median)}, max ${formatSeconds(t.max)}`).join('; ') + '.';
  const svg = s('svg', {
    class: 'duration-chart', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': 'duration-title duration-desc', preserveAspectRatio: 'xMidYMid meet',
  },
  s('title', { id: 'duration-title', text: name }),
  s('desc', { id: 'duration-desc', text: desc }),
  stats.map((t, i) => {
    const top = pad.top + i * rowH;
    return s('g', { class: 'type-row', dataset: { type: t.type, count: t.count, median: t.median, max: t.max } },
      s('text', { class: 'type-label', x: pad.left, y: top + 12, text: t.type }),
      s('text', { class: 'type-figures', x: width - pad.right, y: top + 12, 'text-anchor': 'end', text: `n=${t.count} · median ${formatSeconds(t.median)} · max ${formatSeconds(t.max)}` }),
      s('rect', { class: 'bar max', x: pad.left, y: top + 17, height: 10, width: Math.max(1, x(t.max) - pad.left), dataset: { stat: 'max', value: t.max } },
        s('title', { text: `${t.type}: max ${formatSeconds(t.max)}` })),
      s('rect', { class: 'bar median', x: pad.left, y: top + 28, height: 10, width: Math.max(1, x(t.median) - pad.left), dataset: { stat: 'median', value: t.median } },
        s('title', { text: `${t.type}: median ${formatSeconds(t.median)} of ${t.count}` })));
  }),
  legend(pad.left, height - 8, [['median', 'median duration'], ['max', 'max duration']]));
  fill(slot, figure(name, svg, desc,
    table(`${name}, seconds`, ['Scenario type', 'Scenarios', 'Median (s)', 'Max (s)'],
      stats.map((t) => [t.type, t.count, round(t.median), round(t.max)]), { numeric: [1, 2, 3] }),
    cut || cursor ? `Only the first ${total} matching scenarios are charted.` : null));
}

// ---------------------------------------------------------------------------------------
// Run page

function breadcrumbs(items) {
  return h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
    h('ol', {}, items.map(([text, href], i) => h('li', {},
      href && i < items.length - 1 ? h('a', { href, text }) : h('span', { 'aria-current': i === items.length - 1 ? 'page' : null, text })))));
}

async function drawRun(token, { group, requestId }) {
  setTitle(`Run ${requestId}`);
  fill(app,
    breadcrumbs([['Runs', 'console/'], [group, `console/?group=${seg(group)}`], [requestId, null]]),
    heading(`Run ${requestId}`),
    h('p', { class: 'loading', text: 'Loading the run…' }));
  announce('Loading the run…');
  const run = await apiJson(`api/v1/runs/${seg(group)}/${seg(requestId)}`);
  if (!current(token)) return;
  const doc = run.document || {};
  const scenarios = Array.isArray(doc.scenarios) ? doc.scenarios : [];
  const files = Array.isArray(run.files) ? run.files : [];
  // The run detail has no filing time; telemetry.json is written when the run is filed.
  const filed = files.find((f) => f.name === 'telemetry.json')?.modified;
  const filesHref = `files/${seg(run.group)}/${seg(run.request_id)}/`;

  fill(app,
    breadcrumbs([['Runs', 'console/'], [run.group, `console/?group=${seg(run.group)}`], [run.request_id, null]]),
    heading(`Run ${run.request_id}`),
    h('p', { class: 'lead' }, outcomeBadge(doc.job_status), ` ${scenarios.length} scenario${scenarios.length === 1 ? '' : 's'} on ${doc.cloud_infrastructure || 'an unknown cloud'}, cluster ${doc.cluster_version || 'of unknown version'}. `,
      h('a', { href: filesHref, text: 'Browse its files' })),
    section('Summary', facts([
      ['Group', run.group],
      ['Request id', h('code', { text: run.request_id })],
      ['Run uuid', doc.run_uuid ? h('code', { text: doc.run_uuid }) : null],
      ['Outcome', outcomeBadge(doc.job_status)],
      ['Cluster version', doc.cluster_version],
      ['Major version', doc.major_version],
      ['Cloud', [doc.cloud_infrastructure, doc.cloud_type].filter(Boolean).join(' · ') || null],
      ['Network plugins', (doc.network_plugins || []).join(', ') || null],
      ['Nodes', doc.total_node_count ?? null],
      ['Filed', filed ? time(filed) : null],
      ['krkn timestamp', doc.timestamp ? time(doc.timestamp) : null],
      ['Tag', doc.tag || null],
      ['Resiliency score', doc.overall_resiliency_report?.resiliency_score ?? null],
      ['Build', doc.build_url && /^https?:\/\//.test(doc.build_url)
        ? h('a', { href: doc.build_url, rel: 'noopener noreferrer', text: doc.build_url }) : (doc.build_url || null)],
    ])),
    section('Scenarios', scenarioTable(scenarios)),
    section('Alerts', alertsBlock(doc)),
    section('Artifacts', artifactsTable(files)),
    section('Prometheus backup', backupBlock(run.prometheus_backup)),
    section('Nodes', nodesTable(doc.node_summary_infos)),
    section('Object counts', objectCounts(doc.kubernetes_objects_count)),
    healthChecks(doc.health_checks),
    run.may_delete ? deleteBlock(token, run) : null);
  announce(`Run ${run.request_id} loaded.`);
}

/**
 * For admins: deleting the run, in two steps (the first button asks, the second deletes),
 * so that one stray click never removes a run.
 */
function deleteBlock(token, run) {
  const status = h('div', { class: 'delete-status' });
  const confirmRow = h('p', { class: 'confirm-delete', hidden: true });
  const ask = h('button', { type: 'button', class: 'danger', text: 'Delete this run…' });
  const cancel = h('button', { type: 'button', class: 'secondary', text: 'Cancel' });
  const yes = h('button', { type: 'button', class: 'danger', text: `Yes, delete ${run.request_id}` });
  ask.addEventListener('click', () => {
    ask.hidden = true;
    confirmRow.hidden = false;
    fill(status);
    cancel.focus();
  });
  cancel.addEventListener('click', () => {
    confirmRow.hidden = true;
    ask.hidden = false;
    ask.focus();
  });
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    cancel.disabled = true;
    fill(status, h('p', { role: 'status', text: 'Deleting the run…' }));
    try {
      const done = await (await api(`api/v1/runs/${seg(run.group)}/${seg(run.request_id)}`, { method: 'DELETE' })).json();
      if (!current(token)) return;
      pendingNotice = `Run ${run.request_id} deleted with its ${done.objects_removed} file${done.objects_removed === 1 ? '' : 's'}.`;
      navigate(`console/?group=${seg(run.group)}`);
    } catch (error) {
      if (error instanceof SignInNeeded) { render(); return; }
      yes.disabled = false;
      cancel.disabled = false;
      fill(status, errorBox(error));
    }
  });
  append(confirmRow, [`The document and every file of ${run.request_id} are removed from the store for good. `, yes, ' ', cancel]);
  return section('Delete',
    h('p', { text: 'Deleting removes the run from every list and its document and files from the store. It cannot be undone.' }),
    ask, confirmRow, status);
}

function scenarioTable(scenarios) {
  if (!scenarios.length) return h('p', { class: 'empty', text: 'This run has no scenarios.' });
  const podLists = [];
  const rows = scenarios.map((sc, i) => {
    const pods = sc.affected_pods || {};
    const recovered = Array.isArray(pods.recovered) ? pods.recovered : [];
    const unrecovered = Array.isArray(pods.unrecovered) ? pods.unrecovered : [];
    const recoveryTimes = recovered.map((p) => p.total_recovery_time)
      .filter((t) => t !== null && t !== undefined && !Number.isNaN(Number(t))).map(Number);
    const maxRecovery = recoveryTimes.length ? Math.max(...recoveryTimes) : null;
    const duration = Number(sc.end_timestamp) - Number(sc.start_timestamp);
    if (recovered.length || unrecovered.length || pods.error) {
      podLists.push(affectedPods(i + 1, sc.scenario_type, recovered, unrecovered, pods.error));
    }
    return [
      i + 1,
      h('span', { class: 'nowrap', text: sc.scenario_type || '—' }),
      sc.scenario ? pathCode(sc.scenario) : '—',
      Number.isFinite(Number(sc.start_timestamp)) ? time(Number(sc.start_timestamp)) : '—',
      Number.isFinite(duration) ? h('span', { class: 'nowrap', text: formatSeconds(duration) }) : '—',
      exitBadge(sc.exit_status),
      `${recovered.length} / ${unrecovered.length}` + (maxRecovery !== null ? ` (max ${formatSeconds(maxRecovery)})` : ''),
      (sc.affected_nodes || []).length,
      (sc.cluster_events || []).length,
    ];
  });
  return [
    table('Scenarios of the run, in order', ['#', 'Type', 'File', 'Started', 'Duration', 'Exit status', 'Pods recovered / unrecovered', 'Nodes affected', 'Events'], rows, { numeric: [0, 7, 8] }),
    podLists.length ? h('h3', { text: 'Affected pods' }) : null,
    podLists,
  ];
}

/** The disrupted pods of one scenario, folded: a summary line, then a table. */
function affectedPods(index, type, recovered, unrecovered, error) {
  const count = recovered.length + unrecovered.length;
  const rows = [
    ...recovered.map((p) => [h('span', { class: 'badge passed', text: 'recovered' }), p, true]),
    ...unrecovered.map((p) => [h('span', { class: 'badge failed', text: 'unrecovered' }), p, false]),
  ].map(([badge, p, ok]) => [badge, h('code', { text: p.pod_name || '?' }), p.namespace || '—',
    ok ? formatSeconds(p.total_recovery_time) : '—', ok ? formatSeconds(p.pod_readiness_time) : '—',
    ok ? formatSeconds(p.pod_rescheduling_time) : '—']);
  return h('details', { class: 'pods' },
    h('summary', { text: `Scenario ${index} (${type || 'no type'}): ${count} pod${count === 1 ? '' : 's'} affected, ${unrecovered.length} unrecovered` }),
    error ? h('p', { class: 'hint', text: `Pod monitoring: ${error}` }) : null,
    count ? table(`Pods affected by scenario ${index}`, ['State', 'Pod', 'Namespace', 'Recovery', 'Readiness', 'Rescheduling'], rows, { numeric: [3, 4, 5] }) : null);
}

const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 };

function alertsBlock(doc) {
  const alerts = Array.isArray(doc.alerts) ? [...doc.alerts] : [];
  if (!alerts.length) {
    return h('p', { class: 'empty', text: doc.alerts === undefined || doc.alerts === null ? 'The document records no alerts (krkn-lib before 7 sends none; the critical-alerts file, if any, is under Artifacts).' : 'No alert fired.' });
  }
  alerts.sort((a, b) => (SEVERITY_ORDER[String(a.severity).toLowerCase()] ?? 3) - (SEVERITY_ORDER[String(b.severity).toLowerCase()] ?? 3));
  return table('Alerts, critical first', ['Severity', 'Name', 'Message', 'Started', 'Phase', 'Status'],
    alerts.map((a) => [
      h('span', { class: `badge severity-${String(a.severity || 'unknown').toLowerCase()}`, text: a.severity || 'unknown' }),
      a.name || '—', a.message || '—', a.starts_at || '—', a.phase || '—',
      a.status === true ? 'passed' : a.status === false ? 'failed' : String(a.status ?? '—'),
    ]));
}

function artifactsTable(files) {
  if (!files.length) return h('p', { class: 'empty', text: 'No files are stored for this run.' });
  return table('Files stored for the run', ['File', 'Kind', 'Size', 'Modified', 'Download'],
    files.map((f) => [
      h('code', { text: f.name }),
      (f.kind || 'other').replace(/_/g, ' ') + (f.part !== undefined && f.part !== null ? ` #${f.part}` : ''),
      formatBytes(f.size),
      time(f.modified),
      h('a', { class: 'button small', href: new URL(f.download_link, document.baseURI).href, download: f.name, 'aria-label': `Download ${f.name}`, text: 'Download' }),
    ]), { numeric: [2] });
}

function backupBlock(backup) {
  if (!backup) {
    return h('p', { class: 'backup none', dataset: { state: 'none' }, text: 'None: this run has no Prometheus backup.' });
  }
  const parts = `${backup.parts_stored} part${backup.parts_stored === 1 ? '' : 's'} stored`;
  if (backup.complete === true) {
    return h('div', { class: 'backup complete', dataset: { state: 'complete' } },
      h('p', {}, h('span', { class: 'badge passed', text: 'complete' }),
        ` ${parts} of ${backup.parts_expected} in the manifest` + (backup.total_bytes !== null && backup.total_bytes !== undefined ? `, ${formatBytes(backup.total_bytes)} of tar stream.` : '.')),
      h('p', { class: 'hint', text: 'Join the parts in number order (cat prometheus-*.tar) to get the tar stream.' }));
  }
  if (backup.complete === false) {
    return h('div', { class: 'backup incomplete', dataset: { state: 'incomplete' } },
      h('p', {}, h('span', { class: 'badge failed', text: 'incomplete' }),
        ` ${parts}` + (backup.parts_expected !== null && backup.parts_expected !== undefined ? ` of ${backup.parts_expected} in the manifest` : '') + '. Missing or of the wrong size:'),
      h('ul', { class: 'missing' }, (backup.missing_or_wrong_size || []).map((name) => h('li', {}, h('code', { text: name })))));
  }
  return h('div', { class: 'backup unknown', dataset: { state: 'unknown' } },
    h('p', {}, h('span', { class: 'badge unknown', text: 'unknown' }),
      ` ${parts}, but no prometheus-manifest.json, so completeness cannot be told (krkn-lib uploads no manifest).`));
}

function nodesTable(nodes) {
  if (!Array.isArray(nodes) || !nodes.length) return h('p', { class: 'empty', text: 'No node summary in the document.' });
  return table('Node summary', ['Type', 'Count', 'Instance type', 'Architecture', 'Kernel', 'Kubelet', 'OS'],
    nodes.map((n) => [n.nodes_type || '—', n.count ?? '—', n.instance_type || '—', n.architecture || '—',
      n.kernel_version || '—', n.kubelet_version || '—', n.os_version || '—']), { numeric: [1] });
}

function objectCounts(counts) {
  const entries = Object.entries(counts || {});
  if (!entries.length) return h('p', { class: 'empty', text: 'No object counts in the document.' });
  entries.sort((a, b) => Number(b[1]) - Number(a[1]) || a[0].localeCompare(b[0]));
  return table('Kubernetes objects by kind', ['Kind', 'Count'], entries.map(([kind, n]) => [kind, numberFormat.format(n)]), { numeric: [1] });
}

function healthChecks(checks) {
  if (!Array.isArray(checks) || !checks.length) return null;
  return section('Health checks', table('URLs krkn checked before, during and after the chaos', ['URL', 'Phase', 'Status', 'HTTP status', 'Duration'],
    checks.map((c) => [h('code', { text: c.url || '—' }), c.phase || '—',
      h('span', { class: `badge ${c.status ? 'passed' : 'failed'}`, text: c.status ? 'passed' : 'failed' }),
      String(c.status_code ?? '—'), formatSeconds(c.duration)])));
}

// ---------------------------------------------------------------------------------------
// File browser (files/, files/<group>/, files/<group>/<run>/)

async function drawFiles(token, { group, run }) {
  const title = run ? `Files of run ${run}` : group ? `Runs of group ${group}` : 'Groups';
  setTitle(title);
  const crumbs = [['Groups', 'files/']];
  if (group) crumbs.push([group, `files/${seg(group)}/`]);
  if (run) crumbs.push([run, null]);
  const pageQuery = new URLSearchParams(location.search);
  const startAfter = pageQuery.get('start_after');
  // `limit=` in the page URL sets the page size (navigate's default is 1,000 entries).
  const limit = /^\d+$/.test(pageQuery.get('limit') || '') ? pageQuery.get('limit') : null;
  const query = (after) => {
    const q = new URLSearchParams();
    if (after) q.set('start_after', after);
    if (limit) q.set('limit', limit);
    const text = q.toString();
    return text ? '?' + text : '';
  };
  fill(app, breadcrumbs(crumbs), heading(title), h('p', { class: 'loading', text: 'Loading…' }));
  announce(`Loading ${title.toLowerCase()}…`);
  const folder = [group, run].filter(Boolean).map((p) => seg(p) + '/').join('');
  const listPath = 'navigate' + (group ? '/' + seg(group) : '') + (run ? '/' + seg(run) : '');
  const response = await api(listPath + query(startAfter));
  const entries = await response.json();
  const next = response.headers.get('X-Next-Start-After');
  if (!current(token)) return;

  const rows = entries.map((entry) => {
    const name = entry.path.replace(/\/$/, '');
    const isFolder = entry.type === 'folder';
    const href = `files/${folder}${seg(name)}/`;
    return [
      isFolder ? h('a', { href, text: name + '/' }) : h('code', { text: name }),
      isFolder ? (group ? 'run' : 'group') : 'file',
      isFolder ? '' : formatBytes(entry.size),
      entry.modified ? time(entry.modified) : '—',
      isFolder
        ? (group ? h('a', { href: `console/runs/${seg(group)}/${seg(name)}`, text: 'Run page', 'aria-label': `Run page of ${name}` }) : '')
        : downloadButton(group, run, name),
    ];
  });
  const nextLink = next
    ? h('p', { class: 'more' }, h('a', { class: 'button secondary', href: `files/${folder}${query(next)}`, text: 'Next page' }))
    : null;
  fill(app,
    breadcrumbs(crumbs),
    heading(title),
    run ? h('p', { class: 'lead' }, h('a', { href: `console/runs/${seg(group)}/${seg(run)}`, text: 'Open the run page' }), ' for its scenarios, alerts and backup state.') : null,
    startAfter ? h('p', { class: 'hint' }, `Entries after ${startAfter}. `, h('a', { href: `files/${folder}${query(null)}`, text: 'Back to the first page' })) : null,
    h('div', { class: 'card' }, rows.length
      ? table(title, ['Name', 'Type', 'Size', 'Modified', 'Action'], rows, { numeric: [2] })
      : h('p', { class: 'empty', text: 'Nothing here yet.' })),
    nextLink,
    h('div', { class: 'download-status', 'aria-live': 'polite' }));
  announce(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} loaded${next ? '; more on the next page' : ''}.`);
}

/** A button that asks download-url for a signed link, then downloads through it. */
function downloadButton(group, run, name) {
  const button = h('button', { type: 'button', class: 'small', 'aria-label': `Download ${name}`, text: 'Download' });
  button.addEventListener('click', async () => {
    button.disabled = true;
    const status = app.querySelector('.download-status');
    try {
      const { download_link: link } = await apiJson(`download-url/${seg(group)}/${seg(run)}/${seg(name)}`);
      const a = h('a', { href: new URL(link, document.baseURI).href, download: name, class: 'visually-hidden' });
      document.body.append(a);
      a.click();
      a.remove();
      if (status) status.textContent = `Downloading ${name}.`;
    } catch (error) {
      if (error instanceof SignInNeeded) { render({ focus: true }); return; }
      if (status) fill(status, errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

render();
