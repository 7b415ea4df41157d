// The web console in a real browser: Debian's chromium driven by playwright-core.
//
// scripts/browser-test.sh starts the service and sets the environment below; this file seeds
// its runs (seed.mjs), then signs in, filters, opens runs and files, downloads artifacts and
// reads the charts as a person would, and takes a full-page screenshot of each step.
//
//   KRKN_BROWSER_BASE_URL     service root, e.g. http://127.0.0.1:41234/   (required)
//   KRKN_BROWSER_ADMIN        user:password allowed to upload (seeding)     (required)
//   KRKN_BROWSER_READER       user:password of a reader of every group      (required)
//   KRKN_BROWSER_UPLOADER     user:password of an uploader (the 403 case)   (required)
//   KRKN_BROWSER_SCREENSHOTS  where the PNGs go (default: test-output/browser in the repo)
//   KRKN_BROWSER_CHROMIUM     the browser (default: /usr/bin/chromium)

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { seed } from './seed.mjs';

const HOW_TO_RUN = 'run the browser tests with scripts/browser-test.sh, which installs chromium, starts the service and sets the environment';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: ${HOW_TO_RUN}`);
  return value;
}

const BASE = new URL(required('KRKN_BROWSER_BASE_URL')).href.replace(/\/?$/, '/');
const ADMIN = required('KRKN_BROWSER_ADMIN');
const READER = required('KRKN_BROWSER_READER').split(/:(.*)/s).slice(0, 2);
const UPLOADER = required('KRKN_BROWSER_UPLOADER').split(/:(.*)/s).slice(0, 2);
const CHROMIUM = process.env.KRKN_BROWSER_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.KRKN_BROWSER_SCREENSHOTS
  || fileURLToPath(new URL('../../test-output/browser/', import.meta.url));
if (!existsSync(CHROMIUM)) {
  throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or ${HOW_TO_RUN}`);
}

let browser;
let runs; // what seed() filed, in filing order A..G
const byKey = (key) => runs.find((r) => r.key === key);
/** Every request a page made that did not go to the page's own service root. */
const foreign = [];
/** CSP violations, uncaught exceptions and other console errors. */
const problems = [];
let requests = 0;
let shotCount = 0;

before(async () => {
  try {
    const health = await fetch(new URL('healthz', BASE));
    assert.equal(health.status, 200);
  } catch (error) {
    throw new Error(`the service at ${BASE} does not answer /healthz (${error.message}): ${HOW_TO_RUN}`);
  }
  runs = await seed(BASE, ADMIN);
  await mkdir(SHOTS, { recursive: true });
  for (const name of await readdir(SHOTS)) if (name.endsWith('.png')) await rm(join(SHOTS, name));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
});

/**
 * A fresh browser tab (own session storage) that refuses, and records, any request outside
 * `root`, and records console errors (CSP violations show there).
 */
async function newPage(t, root = BASE) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(10_000);
  t.after(() => context.close());
  await context.route('**/*', (route) => {
    const url = route.request().url();
    requests += 1;
    if (!url.startsWith(root)) {
      foreign.push(`${t.name}: ${url}`);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`${t.name}: uncaught ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs every 4xx answer to fetch as "Failed to load resource"; the 401 and 403
    // cases make some on purpose. Anything else (CSP refusals above all) is a problem.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`${t.name}: console: ${message.text()}`);
    }
  });
  return page;
}

/** Waits until the console has drawn its view (it sets aria-busy on #app). */
async function settled(page) {
  await page.waitForSelector('#app[aria-busy="false"]');
}

/** Takes a full-page screenshot, after checking that no stray JS value was printed. */
async function shot(page, name) {
  const stray = await page.locator('main').evaluate((el) => el.innerText.match(/\b(null|undefined|NaN|Invalid Date)\b|\[object \w+\]/g));
  assert.equal(stray, null, `${name}: the page prints ${stray}`);
  shotCount += 1;
  await page.screenshot({ path: join(SHOTS, `${String(shotCount).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function signIn(page, [user, password]) {
  await page.getByLabel('Username', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await settled(page);
}

async function openSignedIn(t, path, user = READER) {
  const page = await newPage(t);
  await page.goto(new URL(path, BASE).href);
  await settled(page);
  await signIn(page, user);
  return page;
}

/** The runs in the table, as `group/request_id`, sorted. */
async function tableRuns(page) {
  const keys = await page.locator('#runs-table tbody tr')
    .evaluateAll((rows) => rows.map((row) => `${row.dataset.group}/${row.dataset.requestId}`));
  return keys.sort();
}

function expected(...keys) {
  return keys.map((key) => `${byKey(key).group}/${byKey(key).requestId}`).sort();
}

/** Scenario durations by type from the seeded documents: {type: {count, median, max}}. */
function durationsOf(keys) {
  const byType = {};
  for (const key of keys) {
    for (const scenario of byKey(key).document.scenarios) {
      (byType[scenario.scenario_type] ||= []).push(scenario.end_timestamp - scenario.start_timestamp);
    }
  }
  return Object.fromEntries(Object.entries(byType).map(([type, values]) => {
    values.sort((a, b) => a - b);
    const mid = Math.floor(values.length / 2);
    const median = values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    return [type, { count: values.length, median, max: values[values.length - 1] }];
  }));
}

async function outcomeBars(page) {
  const chart = page.getByRole('figure', { name: 'Runs over time by outcome' });
  await chart.locator('svg rect.bar').first().waitFor();
  return chart.locator('svg g.bucket rect.bar').evaluateAll((bars) => {
    const totals = { passed: 0, failed: 0, unknown: 0 };
    for (const bar of bars) totals[bar.dataset.outcome] += Number(bar.dataset.count);
    return totals;
  });
}

async function durationRows(page) {
  const chart = page.getByRole('figure', { name: 'Scenario durations by type' });
  await chart.locator('svg g.type-row').first().waitFor();
  return Object.fromEntries(await chart.locator('svg g.type-row').evaluateAll((rows) => rows.map((row) => [
    row.dataset.type,
    { count: Number(row.dataset.count), median: Number(row.dataset.median), max: Number(row.dataset.max) },
  ])));
}

function assertClose(actual, wanted, what) {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(wanted).sort(), `${what}: scenario types`);
  for (const [type, stats] of Object.entries(wanted)) {
    assert.equal(actual[type].count, stats.count, `${what}: ${type} count`);
    assert.ok(Math.abs(actual[type].median - stats.median) < 1e-6, `${what}: ${type} median ${actual[type].median} ≠ ${stats.median}`);
    assert.ok(Math.abs(actual[type].max - stats.max) < 1e-6, `${what}: ${type} max ${actual[type].max} ≠ ${stats.max}`);
  }
}

async function downloaded(page, click) {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  const failure = await download.failure();
  assert.equal(failure, null, `download of ${download.suggestedFilename()} failed`);
  return { name: download.suggestedFilename(), bytes: await readFile(await download.path()) };
}

function tab(page) {
  return page.keyboard.press('Tab');
}

/** Presses Tab until the focused element matches `predicate` (at most `max` times). */
async function tabTo(page, predicate, what, max = 60) {
  for (let i = 0; i < max; i += 1) {
    await tab(page);
    if (await page.evaluate(predicate)) return;
  }
  assert.fail(`Tab never reached ${what}`);
}

// ---------------------------------------------------------------------------------------

test('a wrong password is refused on the sign-in form, then the reader signs in and out', async (t) => {
  const page = await newPage(t);
  await page.goto(new URL('console/', BASE).href);
  await settled(page);
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
  await shot(page, 'sign-in');

  await signIn(page, [READER[0], 'not-the-password']);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /Sign-in failed: authentication required: unknown user or wrong password/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'refused credentials are not kept');
  await shot(page, 'sign-in-wrong-password');

  await signIn(page, READER);
  await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
  assert.match(await page.locator('#session').innerText(), new RegExp(`Signed in as ${READER[0]}`));
  assert.deepEqual(await tableRuns(page), expected('A', 'B', 'C', 'D', 'E', 'F', 'G'));

  await page.getByRole('button', { name: 'Sign out' }).click();
  await settled(page);
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'signing out forgets the credentials');
});

test('an uploader is told clearly that it may not browse (403)', async (t) => {
  const page = await openSignedIn(t, 'console/', UPLOADER);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  const text = await alert.innerText();
  assert.match(text, /Access denied \(403\)/);
  assert.match(text, /may not browse/, 'the service\'s own words are shown');
  await shot(page, 'uploader-403');
});

test('filters narrow the runs list to exactly the matching runs and live in the URL', async (t) => {
  const page = await openSignedIn(t, 'console/');
  await page.getByLabel('Group', { exact: true }).fill('ci');
  await page.getByLabel('Outcome', { exact: true }).selectOption({ label: 'failed' });
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await settled(page);
  const params = new URL(page.url()).searchParams;
  assert.equal(params.get('group'), 'ci');
  assert.equal(params.get('job_status'), 'false');
  assert.deepEqual(await tableRuns(page), expected('B', 'C'));
  for (const outcome of await page.locator('#runs-table tbody .badge').allInnerTexts()) assert.equal(outcome, 'failed');
  await shot(page, 'runs-filtered-ci-failed');

  // The filtered view is a link: reloading it shows the same runs and fills the form.
  await page.reload();
  await settled(page);
  assert.deepEqual(await tableRuns(page), expected('B', 'C'));
  assert.equal(await page.getByLabel('Group', { exact: true }).inputValue(), 'ci');
  assert.equal(await page.getByLabel('Outcome', { exact: true }).inputValue(), 'false');

  const cases = [
    ['major_version=4.17&cloud=AWS', ['B', 'G']],
    ['scenario_type=time_scenarios', ['D']],
    ['run_tag=nightly', ['A', 'B', 'G']],
    ['group=perf&job_status=true', ['F', 'G']],
    [`since=${new Date().toISOString().slice(0, 10)}`, ['A', 'B', 'C', 'D', 'E', 'F', 'G']],
  ];
  for (const [query, keys] of cases) {
    await page.goto(new URL(`console/?${query}`, BASE).href);
    await settled(page);
    assert.deepEqual(await tableRuns(page), expected(...keys), `console/?${query}`);
  }
  // A filter the service refuses: its 400 text is shown, the form stays to fix it.
  await page.goto(new URL('console/?since=2026-12-05&until=2026-12-01', BASE).href);
  await settled(page);
  assert.match(await page.getByRole('alert').innerText(), /The service answered 400 Bad Request: since \(2026-12-05T00:00:00Z\) is after until/);
  assert.equal(await page.getByLabel('Filed since (UTC)').inputValue(), '2026-12-05');
  await shot(page, 'runs-bad-filter-400');

  await page.goto(new URL('console/?until=2020-01-01', BASE).href);
  await settled(page);
  await page.getByText('No run matches these filters.').waitFor();
  assert.equal(await page.locator('#runs-table').count(), 0);
});

test('"Load more runs" pages through every run with next_cursor', async (t) => {
  const page = await openSignedIn(t, 'console/?limit=3');
  assert.equal((await tableRuns(page)).length, 3);
  const more = page.getByRole('button', { name: 'Load more runs' });
  await more.click();
  await settled(page);
  assert.equal((await tableRuns(page)).length, 6);
  await more.click();
  await settled(page);
  assert.deepEqual(await tableRuns(page), expected('A', 'B', 'C', 'D', 'E', 'F', 'G'), 'every run once');
  assert.equal(await more.count(), 0, 'no button after the last page');
  assert.equal(await page.locator('.runs-table .count').innerText(), '7 runs shown.');
  await shot(page, 'runs-load-more');

  // On a phone-sized screen the page does not scroll sideways: wide tables scroll in their box.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 390px screen`);
  await shot(page, 'runs-narrow-screen');
});

test('both charts draw what was seeded and follow the filters', async (t) => {
  const page = await openSignedIn(t, 'console/');
  assert.deepEqual(await outcomeBars(page), { passed: 3, failed: 3, unknown: 1 });
  assertClose(await durationRows(page), durationsOf(['A', 'B', 'C', 'D', 'E', 'F', 'G']), 'all runs');
  const outcome = page.getByRole('figure', { name: 'Runs over time by outcome' });
  assert.equal(await outcome.locator('svg title').first().textContent(), 'Runs over time by outcome');
  assert.match(await outcome.locator('svg desc').textContent(), /7 runs .*3 passed, 3 failed, 1 unknown/);
  // The accessible alternative: a data table with the same counts.
  await outcome.getByText('Runs over time by outcome: data table').click();
  const cells = await outcome.locator('table tbody tr').first().locator('td').allInnerTexts();
  assert.deepEqual(cells.slice(1), ['3', '3', '1']);
  await shot(page, 'charts-all-runs');

  await page.goto(new URL('console/?group=ci&job_status=false', BASE).href);
  await settled(page);
  assert.deepEqual(await outcomeBars(page), { passed: 0, failed: 2, unknown: 0 });
  assertClose(await durationRows(page), durationsOf(['B', 'C']), 'ci, failed');
  await shot(page, 'charts-ci-failed');
});

test('a run page shows scenarios, alerts, artifacts and backup state; an artifact downloads intact', async (t) => {
  const page = await openSignedIn(t, 'console/');
  const run = byKey('E');
  await page.getByRole('link', { name: run.requestId }).click();
  await settled(page);
  assert.equal(new URL(page.url()).pathname, `/console/runs/perf/${run.requestId}`);
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H1', 'focus moves to the new page');
  await page.getByRole('heading', { name: `Run ${run.requestId}`, level: 1 }).waitFor();

  const summary = await page.locator('.facts').innerText();
  for (const fact of [run.document.run_uuid, '4.18.12', 'AWS · rosa', 'OVNKubernetes', 'failed']) {
    assert.ok(summary.includes(fact), `summary shows ${fact}`);
  }
  const scenarioRows = page.getByRole('table', { name: 'Scenarios of the run, in order' }).locator('tbody tr');
  assert.equal(await scenarioRows.count(), run.document.scenarios.length);
  const first = await scenarioRows.first().innerText();
  assert.match(first, /pod_disruption_scenarios/);
  assert.match(first, /1 failed/);
  assert.match(first, /2 \/ 1 \(max 15 s\)/, 'pods recovered / unrecovered with the longest recovery');
  await page.getByText('Scenario 1 (pod_disruption_scenarios): 3 pods affected, 1 unrecovered').click();
  const pods = page.getByRole('table', { name: 'Pods affected by scenario 1' }).locator('tbody tr');
  assert.equal(await pods.count(), 3);
  assert.match(await pods.nth(1).innerText(), /recovered\s+etcd-guard-ip-10-0-142-7\S*\s+openshift-etcd\s+2 s/);
  assert.match(await pods.nth(2).innerText(), /unrecovered\s+etcd-ip-10-0-171-22/);

  const alertRows = page.getByRole('table', { name: 'Alerts, critical first' }).locator('tbody tr');
  assert.match(await alertRows.first().innerText(), /critical\s+etcd cluster has insufficient members/);

  const artifacts = page.getByRole('table', { name: 'Files stored for the run' });
  const names = await artifacts.locator('tbody tr td:first-child').allInnerTexts();
  assert.deepEqual(names.sort(), ['critical-alerts-00.log', 'prometheus-00.tar', 'telemetry.json']);
  assert.equal(await page.locator('.backup').getAttribute('data-state'), 'unknown');
  assert.match(await page.locator('.backup').innerText(), /no prometheus-manifest\.json/);
  await shot(page, 'run-page-unknown-backup');

  const file = await downloaded(page, () => page.getByRole('link', { name: 'Download prometheus-00.tar' }).click());
  assert.equal(file.name, 'prometheus-00.tar');
  assert.ok(file.bytes.equals(run.files['prometheus-00.tar']), 'downloaded bytes are the uploaded bytes');

  // The other backup states.
  const states = [['F', 'incomplete', /prometheus-01\.tar/], ['G', 'complete', /2 parts stored of 2/], ['A', 'none', /no Prometheus backup/]];
  for (const [key, state, text] of states) {
    await page.goto(new URL(`console/runs/${byKey(key).group}/${byKey(key).requestId}`, BASE).href);
    await settled(page);
    assert.equal(await page.locator('.backup').getAttribute('data-state'), state, `run ${key}`);
    assert.match(await page.locator('.backup').innerText(), text);
    if (key === 'F') await shot(page, 'run-page-incomplete-backup');
  }
});

test('the files URL krkn prints opens the run\'s files, and its files download', async (t) => {
  const page = await newPage(t);
  const run = byKey('E');
  // What krkn prints: <api_url>/files/<group>/<request_id> (no trailing slash).
  await page.goto(new URL(`files/perf/${run.requestId}`, BASE).href);
  await settled(page);
  await signIn(page, READER);
  assert.equal(new URL(page.url()).pathname, `/files/perf/${run.requestId}/`);
  await page.getByRole('heading', { name: `Files of run ${run.requestId}`, level: 1 }).waitFor();
  const names = await page.locator('table tbody tr td:first-child').allInnerTexts();
  assert.deepEqual(names.sort(), ['critical-alerts-00.log', 'prometheus-00.tar', 'telemetry.json']);
  await shot(page, 'files-run');

  const file = await downloaded(page, () => page.getByRole('button', { name: 'Download critical-alerts-00.log' }).click());
  assert.equal(file.name, 'critical-alerts-00.log');
  assert.ok(file.bytes.equals(run.files['critical-alerts-00.log']), 'downloaded bytes are the uploaded bytes');

  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'perf' }).click();
  await settled(page);
  const groupRuns = await page.locator('table tbody tr td:first-child').allInnerTexts();
  assert.deepEqual(groupRuns.sort(), ['E', 'F', 'G'].map((k) => byKey(k).requestId + '/').sort());
  await shot(page, 'files-group');

  // Paging: navigate answers X-Next-Start-After when more entries follow.
  await page.goto(new URL('files/perf/?limit=2', BASE).href);
  await settled(page);
  const firstPage = await page.locator('table tbody tr td:first-child').allInnerTexts();
  assert.equal(firstPage.length, 2);
  await page.getByRole('link', { name: 'Next page' }).click();
  await settled(page);
  const secondPage = await page.locator('table tbody tr td:first-child').allInnerTexts();
  assert.deepEqual([...firstPage, ...secondPage].sort(), groupRuns.sort(), 'both pages hold every run once');
  assert.equal(await page.getByRole('link', { name: 'Next page' }).count(), 0, 'no next page after the last');
  await shot(page, 'files-group-second-page');

  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Groups' }).click();
  await settled(page);
  assert.deepEqual((await page.locator('table tbody tr td:first-child').allInnerTexts()).sort(), ['ci/', 'perf/']);
  await page.getByRole('link', { name: 'ci/' }).click();
  await settled(page);
  assert.equal(await page.locator('table tbody tr').count(), 4);
  await shot(page, 'files-groups-ci');
});

test('the filter form and the runs list work with the keyboard alone', async (t) => {
  const page = await newPage(t);
  await page.goto(new URL('console/', BASE).href);
  await settled(page);
  // The username field has focus on a fresh page.
  await page.keyboard.type(READER[0]);
  await tab(page);
  await page.keyboard.type(READER[1]);
  await page.keyboard.press('Enter');
  await settled(page);
  await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();

  // From the top of a freshly loaded page: the skip link comes first, is visible when
  // focused, and jumps to the content.
  await page.reload();
  await settled(page);
  await tab(page);
  assert.equal(await page.evaluate(() => document.activeElement.className), 'skip-link');
  const box = await page.locator('.skip-link').boundingBox();
  assert.ok(box && box.y >= 0, 'the focused skip link is on screen');
  await shot(page, 'keyboard-skip-link');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'content');
  assert.equal(new URL(page.url()).pathname, '/console/', 'the skip link stays on the page');

  await tabTo(page, () => document.activeElement.id === 'filter-group', 'the group filter');
  await page.keyboard.type('perf');
  await tabTo(page, () => document.activeElement.id === 'filter-job_status', 'the outcome filter');
  await page.keyboard.type('passed'); // a closed <select> selects by typing
  assert.equal(await page.getByLabel('Outcome', { exact: true }).inputValue(), 'true');
  const style = await page.evaluate(() => {
    const css = getComputedStyle(document.activeElement);
    return { style: css.outlineStyle, width: parseFloat(css.outlineWidth) };
  });
  assert.ok(style.style !== 'none' && style.width >= 2, `focus is visible (${JSON.stringify(style)})`);
  await shot(page, 'keyboard-focus-outcome');
  await tabTo(page, () => document.activeElement.textContent === 'Apply filters', 'the Apply filters button');
  await page.keyboard.press('Enter');
  await settled(page);
  assert.deepEqual(await tableRuns(page), expected('F', 'G'));

  // On to a run by keyboard: its link, Enter, and focus lands on the run's heading.
  await tabTo(page, () => document.activeElement.closest('#runs-table') !== null && document.activeElement.tagName === 'A', 'a run link');
  const target = await page.evaluate(() => document.activeElement.textContent);
  await page.keyboard.press('Enter');
  await settled(page);
  assert.equal(await page.evaluate(() => document.activeElement.textContent), `Run ${target}`);
  await shot(page, 'keyboard-run-page');
});

test('the console works under a stage prefix (API Gateway\'s /production/)', async (t) => {
  // A stand-in for API Gateway: /production/<path> → the service's /<path>.
  const target = new URL(BASE);
  const proxy = http.createServer((request, response) => {
    if (!request.url.startsWith('/production/')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`not under the stage: ${request.url}\n`);
      return;
    }
    const upstream = http.request({
      host: target.hostname, port: target.port, method: request.method,
      path: request.url.slice('/production'.length), headers: request.headers,
    }, (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', (error) => response.writeHead(502).end(String(error)));
    request.pipe(upstream);
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => proxy.close(resolve)));
  const root = `http://127.0.0.1:${proxy.address().port}/production/`;
  const page = await newPage(t, root);

  await page.goto(`${root}console/`);
  await settled(page);
  await signIn(page, READER);
  assert.deepEqual(await tableRuns(page), expected('A', 'B', 'C', 'D', 'E', 'F', 'G'));
  assert.equal(await page.locator('.site-header').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(24, 32, 51)', 'the stylesheet loads');
  const run = byKey('G');
  await page.getByRole('link', { name: run.requestId }).click();
  await settled(page);
  assert.equal(new URL(page.url()).pathname, `/production/console/runs/perf/${run.requestId}`);
  assert.equal(await page.locator('.backup').getAttribute('data-state'), 'complete');
  await page.getByRole('link', { name: 'Browse its files' }).click();
  await settled(page);
  assert.equal(new URL(page.url()).pathname, `/production/files/perf/${run.requestId}/`);
  assert.equal(await page.locator('table tbody tr').count(), 4);
  await shot(page, 'stage-prefix-files');
});

// Files a run of its own and deletes it, so the runs the tests above count are untouched.
test('an admin deletes a run after confirming it; a reader is not offered the delete', async (t) => {
  const auth = { Authorization: 'Basic ' + Buffer.from(ADMIN).toString('base64') };
  const requestId = `${Math.floor(Date.now() / 1000)}-${byKey('A').document.run_uuid}-to-delete`;
  const filed = await fetch(new URL(`telemetry?${new URLSearchParams({ request_id: requestId, telemetry_group: 'scratch' })}`, BASE), {
    method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify(byKey('A').document),
  });
  assert.equal(filed.status, 200, await filed.text());
  const runPath = `console/runs/scratch/${requestId}`;
  const apiRun = new URL(`api/v1/runs/scratch/${requestId}`, BASE);

  const readerPage = await openSignedIn(t, runPath);
  await readerPage.getByRole('heading', { name: `Run ${requestId}`, level: 1 }).waitFor();
  assert.equal(await readerPage.getByRole('button', { name: /Delete/ }).count(), 0, 'a reader sees no delete');

  const page = await openSignedIn(t, runPath, ADMIN.split(/:(.*)/s).slice(0, 2));
  await page.getByRole('heading', { name: `Run ${requestId}`, level: 1 }).waitFor();
  const yes = page.getByRole('button', { name: `Yes, delete ${requestId}` });
  assert.equal(await yes.isVisible(), false, 'nothing is deleted in one click');
  await page.getByRole('button', { name: 'Delete this run…' }).click();
  await page.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await yes.isVisible(), false, 'Cancel hides the confirmation');
  assert.equal((await fetch(apiRun, { headers: auth })).status, 200, 'still filed after Cancel');

  await page.getByRole('button', { name: 'Delete this run…' }).click();
  await shot(page, 'run-delete-confirm');
  await yes.click();
  await page.waitForURL((url) => url.pathname.endsWith('/console/') && url.searchParams.get('group') === 'scratch');
  await settled(page);
  assert.equal(await page.locator('main .notice').innerText(), `Run ${requestId} deleted with its 1 file.`);
  assert.equal(await page.locator('#runs-table tbody tr').count(), 0, 'the group lists no run');
  const gone = await fetch(apiRun, { headers: auth });
  assert.equal(gone.status, 404, await gone.text());
  await shot(page, 'run-deleted');
});

test('no request left the service and the pages broke no rule of the CSP', () => {
  assert.ok(requests > 30, `requests were watched (${requests})`);
  assert.deepEqual(foreign, [], 'requests outside the service');
  assert.deepEqual(problems, [], 'console errors and uncaught exceptions');
});
