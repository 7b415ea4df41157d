// Files the browser tests' runs into a running service the way krkn does: POST /telemetry
// with the document, then GET /presigned-url and PUT the raw bytes of each artifact.
//
// Everything is fixed (request ids, documents, artifact bytes), so seeding the same server
// twice changes nothing (the service answers 200 to the same document and the same bytes),
// and the tests compute what they expect from what this module returns.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const DATA = new URL('../../crates/model/tests/data/', import.meta.url);

/** A scenario: [type, file, exit status, duration in seconds, pods recovered, pods unrecovered]. */
const RUNS = [
  {
    key: 'A', group: 'ci', unix: 1764500000, uuid: '6a1f0c1e-52b4-4c9e-9a11-0000000000a1', tag: 'nightly',
    version: '4.18.12', major: '4.18', cloud: 'GCP', jobStatus: true,
    scenarios: [['pod_disruption_scenarios', 'scenarios/openshift/etcd.yml', 0, 345, 2, 0]],
  },
  {
    key: 'B', group: 'ci', unix: 1764500100, uuid: '6a1f0c1e-52b4-4c9e-9a11-0000000000b2', tag: 'nightly',
    version: '4.17.30', major: '4.17', cloud: 'AWS', jobStatus: false,
    scenarios: [
      ['node_scenarios', 'scenarios/openshift/aws_node_scenarios.yml', 1, 120, 0, 0],
      ['pod_disruption_scenarios', 'scenarios/openshift/prom_kill.yml', 0, 200, 1, 1],
    ],
  },
  {
    key: 'C', group: 'ci', unix: 1764500200, uuid: '6a1f0c1e-52b4-4c9e-9a11-0000000000c3', tag: '',
    version: '4.19.2', major: '4.19', cloud: 'Azure', jobStatus: false,
    scenarios: [['network_chaos_ng_scenarios', 'scenarios/kube/network-chaos-ng.yml', 1, 300, 0, 0]],
  },
  {
    key: 'D', group: 'ci', unix: 1764500300, uuid: '6a1f0c1e-52b4-4c9e-9a11-0000000000d4', tag: 'smoke',
    version: '4.18.3', major: '4.18', cloud: 'AWS', jobStatus: null,
    scenarios: [['time_scenarios', 'scenarios/openshift/time_scenarios.yml', 0, 60, 0, 0]],
  },
  {
    // krkn-lib 7's richest document: three scenarios, alerts, health checks. Backup parts
    // without a manifest (as krkn-lib uploads them): completeness unknown.
    key: 'E', group: 'perf', unix: 1764500400, uuid: '3f2b8c1e-9d4a-4e7b-a1c6-5e8f0d2b7a94', tag: 'etcd',
    rich: true,
    artifacts: { 'prometheus-00.tar': bytes('E/prometheus-00', 48 * 1024), 'critical-alerts-00.log': null },
  },
  {
    // A manifest naming two parts, one of them never uploaded: incomplete.
    key: 'F', group: 'perf', unix: 1764500500, uuid: '6a1f0c1e-52b4-4c9e-9a11-0000000000f6', tag: '',
    version: '4.19.2', major: '4.19', cloud: 'GCP', jobStatus: true,
    scenarios: [['pod_disruption_scenarios', 'scenarios/openshift/kill-ingress.yml', 0, 90, 3, 0]],
    artifacts: { 'prometheus-00.tar': bytes('F/prometheus-00', 4096) },
    manifestParts: [['prometheus-00.tar', bytes('F/prometheus-00', 4096)], ['prometheus-01.tar', bytes('F/prometheus-01', 1000)]],
  },
  {
    // Every part the manifest names: complete.
    key: 'G', group: 'perf', unix: 1764500600, uuid: '6a1f0c1e-52b4-4c9e-9a11-0000000000a7', tag: 'nightly',
    version: '4.17.30', major: '4.17', cloud: 'AWS', jobStatus: true,
    scenarios: [['node_scenarios', 'scenarios/openshift/node-reboot.yml', 0, 400, 0, 0]],
    artifacts: { 'prometheus-00.tar': bytes('G/prometheus-00', 4096), 'prometheus-01.tar': bytes('G/prometheus-01', 1500) },
    manifestParts: [['prometheus-00.tar', bytes('G/prometheus-00', 4096)], ['prometheus-01.tar', bytes('G/prometheus-01', 1500)]],
  },
];

/** Deterministic pseudo-random bytes (a SHA-256 chain), so a download can be compared. */
function bytes(label, size) {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(label).digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

function requestId(run) {
  return `${run.unix}-${run.uuid}${run.tag ? '-' + run.tag : ''}`;
}

function iso(unix) {
  return new Date(unix * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A document from seed-sample.json with this run's cluster, outcome and scenarios. */
function plainDocument(base, run) {
  const doc = structuredClone(base);
  const template = doc.scenarios[0];
  doc.run_uuid = run.uuid;
  doc.timestamp = iso(run.unix);
  doc.cluster_version = run.version;
  doc.major_version = run.major;
  doc.cloud_infrastructure = run.cloud;
  doc.job_status = run.jobStatus; // null: krkn could not tell
  let start = run.unix;
  doc.scenarios = run.scenarios.map(([type, file, exit, duration, recovered, unrecovered], i) => {
    const scenario = structuredClone(template);
    scenario.scenario_type = type;
    scenario.scenario = file;
    scenario.exit_status = exit;
    scenario.start_timestamp = start;
    scenario.end_timestamp = start + duration;
    start += duration + 5;
    const pod = (n, ok) => ({
      pod_name: `${type.split('_')[0]}-victim-${i}-${n}`,
      namespace: 'openshift-monitoring',
      total_recovery_time: ok ? 10 + n * 7.5 : null,
      pod_readiness_time: ok ? 8 + n * 6 : null,
      pod_rescheduling_time: ok ? 2 + n * 1.5 : null,
    });
    scenario.affected_pods = {
      recovered: Array.from({ length: recovered }, (_, n) => pod(n, true)),
      unrecovered: Array.from({ length: unrecovered }, (_, n) => pod(n + recovered, false)),
      error: unrecovered ? `${unrecovered} pod(s) did not become ready in time` : null,
    };
    return scenario;
  });
  return doc;
}

function alertSummary(id) {
  return Buffer.from(JSON.stringify({
    run_id: id,
    scenario: 'scenarios/openshift/etcd.yml',
    chaos_alerts: [{ alertname: 'etcdInsufficientMembers', alertstate: 'firing', namespace: 'openshift-etcd', severity: 'critical' }],
    post_chaos_alerts: [],
  }, null, 2) + '\n');
}

function manifest(parts) {
  return Buffer.from(JSON.stringify({
    kind: 'prometheus-backup',
    version: 1,
    source: { namespace: 'openshift-monitoring', pod: 'prometheus-k8s-0', container: 'prometheus', path: '/prometheus/wal' },
    part_size: 4096,
    total_bytes: parts.reduce((sum, [, data]) => sum + data.length, 0),
    parts: parts.map(([name, data]) => ({ name, size: data.length, sha256: createHash('sha256').update(data).digest('hex') })),
    backup_started: '2025-12-01T10:00:00Z',
    backup_finished: '2025-12-01T10:01:00Z',
    restore: 'cat prometheus-*.tar | tar xf - -C /prometheus',
  }, null, 2));
}

async function check(response, what) {
  if (!response.ok) {
    throw new Error(`seeding: ${what} answered ${response.status}: ${(await response.text()).trim()}`);
  }
  return response;
}

/**
 * Files every run (in order A..G, so G is the newest filed) and its artifacts.
 * `base`: the service URL ending in `/`; `admin`: `user:password` of an account that may upload.
 * Returns the runs with `requestId`, `document`, `outcome` and `files` (name → Buffer).
 */
export async function seed(base, admin) {
  const auth = { Authorization: 'Basic ' + Buffer.from(admin).toString('base64') };
  const sample = JSON.parse(await readFile(new URL('seed-sample.json', DATA), 'utf8'));
  const rich = JSON.parse(await readFile(new URL('rich-sample.json', DATA), 'utf8'));
  const seeded = [];
  for (const run of RUNS) {
    const id = requestId(run);
    const document = run.rich ? { ...structuredClone(rich), run_uuid: run.uuid } : plainDocument(sample, run);
    const body = JSON.stringify(document);
    const query = new URLSearchParams({ request_id: id, telemetry_group: run.group });
    await check(await fetch(new URL(`telemetry?${query}`, base), {
      method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body,
    }), `POST telemetry ${run.group}/${id}`);

    const files = {};
    for (const [name, data] of Object.entries(run.artifacts || {})) files[name] = data ?? alertSummary(id);
    if (run.manifestParts) files['prometheus-manifest.json'] = manifest(run.manifestParts);
    for (const [name, data] of Object.entries(files)) {
      const linkQuery = new URLSearchParams({ request_id: `${run.group}/${id}`, remote_filename: name });
      const link = (await (await check(await fetch(new URL(`presigned-url?${linkQuery}`, base), { headers: auth }),
        `GET presigned-url for ${name}`)).text()).trim();
      await check(await fetch(new URL(link, base), { method: 'PUT', body: data }), `PUT ${name}`);
    }
    seeded.push({
      key: run.key,
      group: run.group,
      requestId: id,
      document,
      outcome: document.job_status === true ? 'passed' : document.job_status === false ? 'failed' : 'unknown',
      files,
    });
  }
  return seeded;
}
