#!/usr/bin/env node
// Verifier load benchmark: `node bench/verifier-load.js` (from the repo root; see docs/BENCHMARKS.md, "Verifier").
//
// Bundles the current sources into .bench/ (the CLI, and bench/verifier-world.ts), builds a world there (a two-signer
// trust policy, ALLOWED digests signed by both signers and DENIED by one, in a local store; TLS from `tls init`'s code),
// starts `modelseal serve` as its own process on 127.0.0.1, and drives it with autocannon over HTTPS (loopback only,
// every run bounded in time):
//   1. cached decisions (allows and denials; every request a hit), each protocol, at a fixed 1,000 requests/s, then at
//      full speed;
//   2. uncached decisions (a second server with --cache-ttl 0 --deny-cache-ttl 0, digests cycled so no two concurrent
//      requests share one), each protocol, at a fixed rate, then at full speed;
//   3. a burst at 2x the measured uncached /validate capacity, between two stretches at half of it: peak RSS of the
//      server and the time per-second p99 latency takes to return to its level before the burst.
// Prints p50/p99 latency as the client saw it, the server's own p99 time to a decision (from its
// modelseal_verifier_decision_duration_seconds histogram: what queueing and CPU contention on a shared machine do not
// inflate), throughput per run, the load average before and after, and how to reproduce. The server logs at `info`
// (one line per decision, as deployed) to /dev/null.
// Knobs: BENCH_SECONDS (default 10) per fixed-rate run, BENCH_ALLOWED (400), BENCH_DENIED (100).
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const tls = require('tls');
const https = require('https');
const { BENCH, ROOT, bundle, table } = require('./lib');

const autocannon = require(path.join(ROOT, 'node_modules', 'autocannon'));
const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const ALLOWED = Number(process.env.BENCH_ALLOWED || 400);
const DENIED = Number(process.env.BENCH_DENIED || 100);
const SERVICE = 'modelseal-verifier.modelseal-system.svc';
const WORLD = path.join(BENCH, 'verifier');
const PINNED = `registry.example/serving@sha256:${'0c'.repeat(32)}`;

function load() {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

function buildWorld() {
  const { buildSync } = require(path.join(ROOT, 'node_modules', 'esbuild'));
  const options = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'esbuild-cli.json'), 'utf8'));
  buildSync({ ...options, entryPoints: [path.join(ROOT, 'bench', 'verifier-world.ts')], outfile: path.join(BENCH, 'verifier-world.js'), logLevel: 'warning' });
  fs.rmSync(WORLD, { recursive: true, force: true });
  const r = require('child_process').spawnSync(process.execPath, [path.join(BENCH, 'verifier-world.js'), WORLD, String(ALLOWED), String(DENIED)], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('building the benchmark world failed');
  return JSON.parse(fs.readFileSync(path.join(WORLD, 'world.json'), 'utf8'));
}

function get(url, ca) {
  return new Promise((resolve, reject) => {
    https.get(url, { ca, servername: SERVICE, checkServerIdentity: (_h, c) => tls.checkServerIdentity(SERVICE, c), agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    }).on('error', reject);
  });
}

/** Starts `modelseal serve` on a free loopback port; resolves once /readyz is 200. */
async function startServer(world, extra) {
  const port = await new Promise((resolve) => {
    const s = require('net').createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const args = [path.join(BENCH, 'modelseal-cli.js'), 'serve', '--listen', `127.0.0.1:${port}`,
    '--tls-cert', path.join(WORLD, 'tls.crt'), '--tls-key', path.join(WORLD, 'tls.key'), '--tls-min-version', '1.3',
    '--store', world.store, '--policy', world.policy, ...extra];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `https://127.0.0.1:${port}`;
  const ca = fs.readFileSync(path.join(WORLD, 'ca.crt'));
  const until = Date.now() + 20000;
  for (;;) {
    try {
      if ((await get(`${url}/readyz`, ca)).status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error('the verifier did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url, ca, proc,
    rssMiB: () => {
      try {
        return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8'))[1]) / 1024;
      } catch {
        return NaN;
      }
    },
    metric: async (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec((await get(`${url}/metrics`, ca)).text)?.[1] ?? NaN),
    /** Cumulative decision-duration histogram buckets of one protocol ({le: count}), all sources summed. */
    buckets: async (protocol) => {
      const out = {};
      const re = new RegExp(`^modelseal_verifier_decision_duration_seconds_bucket\\{le="([^"]+)",protocol="${protocol}",source="[^"]+"\\} (\\d+)$`, 'gm');
      for (const m of (await get(`${url}/metrics`, ca)).text.matchAll(re)) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
      return out;
    },
    stop: () => new Promise((resolve) => {
      proc.once('exit', resolve);
      proc.kill('SIGTERM');
    }),
  };
}

const BODIES = {
  kyverno: (d) => JSON.stringify({ digest: d, namespace: 'models', name: 'server', kind: 'Pod' }),
  gatekeeper: (d) => JSON.stringify({ apiVersion: 'externaldata.gatekeeper.sh/v1beta1', kind: 'ProviderRequest', request: { keys: [d] } }),
  validate: (d, i) => JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: `uid-${i}`, kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'models', name: 'server',
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'server', namespace: 'models', annotations: { 'modelseal.dev/model-digest': d, 'modelseal.dev/model-uri': 's3://models/m/1/' } }, spec: { containers: [{ name: 'server', image: PINNED }] } },
    },
  }),
};

/** The server-side p99 (ms) from two snapshots of the decision-duration histogram: the bucket bound 99% fall under. */
function serverP99(before, after) {
  const les = Object.keys(after).filter((le) => le !== '+Inf').sort((a, b) => Number(a) - Number(b));
  const total = (after['+Inf'] ?? 0) - (before['+Inf'] ?? 0);
  const le = les.find((l) => (after[l] - (before[l] ?? 0)) >= 0.99 * total);
  return le === undefined ? `> ${Number(les[les.length - 1]) * 1000}` : `≤ ${Number(le) * 1000}`;
}

/** One autocannon run; `digests` are cycled through. Returns figures and, with `timeline`, every response's (time, latency). */
async function run(server, opts) {
  const before = await server.buckets(opts.protocol);
  const result = await runLoad(server, opts);
  return { ...result, server: serverP99(before, await server.buckets(opts.protocol)) };
}

function runLoad(server, { protocol, digests, rate, seconds, connections, timeline }) {
  const bodies = digests.map((d, i) => BODIES[protocol](d, i));
  let next = 0;
  const rss = [];
  const sampler = setInterval(() => rss.push(server.rssMiB()), 250);
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: server.url,
      connections,
      duration: seconds,
      ...(rate ? { overallRate: rate } : {}),
      servername: SERVICE,
      tlsOptions: { ca: server.ca, checkServerIdentity: (_h, c) => tls.checkServerIdentity(SERVICE, c) },
      requests: [{
        method: 'POST',
        path: `/${protocol}`,
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }),
      }],
    }, (err, result) => {
      clearInterval(sampler);
      if (err) return reject(err);
      resolve({
        p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average, total: result.requests.total,
        non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, peakRssMiB: Math.max(...rss.filter(Number.isFinite)),
      });
    });
    if (timeline) {
      instance.on('response', (_client, _status, _bytes, responseTime) => timeline.push([Date.now(), responseTime]));
    }
  });
}

function fmt(rows) {
  return table(rows.map((r) => ({
    run: r.name, 'target rps': r.rate ?? 'max', 'p50 ms': r.p50.toFixed(2), 'p99 ms': r.p99.toFixed(2), 'server p99 ms': r.server ?? '', 'req/s': r.rps.toFixed(0),
    requests: r.total, 'non-2xx': r.non2xx, errors: r.errors + r.timeouts, 'peak RSS MiB': r.peakRssMiB.toFixed(0),
  })));
}

function p99(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)] : NaN;
}

async function main() {
  const started = new Date().toISOString();
  process.stdout.write(`modelseal verifier load benchmark, ${started}, node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0].model}), load average ${load()}\n`);
  bundle();
  const world = buildWorld();
  const all = world.digests.allowed;
  const denied = world.digests.denied;
  const mixed = [...all.slice(0, 300), ...denied];
  const rows = [];

  // 1. cached
  // denials are kept as long as allows here, so every request of these runs is a cache hit (the default 5 s deny TTL
  // would send the denied digests to the store every 5 s, which is the uncached case below)
  const cached = await startServer(world, ['--deny-cache-ttl', '10m']);
  try {
    await run(cached, { protocol: 'kyverno', digests: mixed, rate: 0, seconds: 3, connections: 10 }); // warm: every digest decided and cached
    for (const protocol of ['kyverno', 'gatekeeper', 'validate']) {
      rows.push({ name: `cached ${protocol}`, rate: 1000, ...await run(cached, { protocol, digests: mixed, rate: 1000, seconds: SECONDS, connections: 20 }) });
    }
    for (const protocol of ['kyverno', 'validate']) {
      rows.push({ name: `cached ${protocol}`, ...await run(cached, { protocol, digests: mixed, rate: 0, seconds: 5, connections: 20 }) });
    }
    rows.push({ name: 'cached: hits / misses', p50: 0, p99: 0, rps: 0, total: `${await cached.metric('modelseal_verifier_cache_hits_total')} / ${await cached.metric('modelseal_verifier_cache_misses_total')}`, non2xx: 0, errors: 0, timeouts: 0, peakRssMiB: cached.rssMiB() });
  } finally {
    await cached.stop();
  }

  // 2. uncached: every request is a store read and a two-signer check
  const uncached = await startServer(world, ['--cache-ttl', '0', '--deny-cache-ttl', '0']);
  let capacity = 0;
  const timeline = [];
  let burst;
  try {
    for (const protocol of ['kyverno', 'gatekeeper', 'validate']) {
      rows.push({ name: `uncached ${protocol}`, rate: 100, ...await run(uncached, { protocol, digests: mixed, rate: 100, seconds: SECONDS, connections: 10 }) });
    }
    for (const protocol of ['kyverno', 'gatekeeper', 'validate']) {
      const r = await run(uncached, { protocol, digests: mixed, rate: 0, seconds: SECONDS, connections: 16 });
      rows.push({ name: `uncached ${protocol}`, ...r });
      if (protocol === 'validate') capacity = r.rps;
    }
    rows.push({ name: 'uncached: coalesced', p50: 0, p99: 0, rps: 0, total: await uncached.metric('modelseal_verifier_coalesced_total'), non2xx: 0, errors: 0, timeouts: 0, peakRssMiB: uncached.rssMiB() });

    // 3. burst at 2x capacity, between two stretches at half of it
    const half = Math.max(1, Math.round(capacity / 2));
    const t0 = Date.now();
    const before = await run(uncached, { protocol: 'validate', digests: mixed, rate: half, seconds: 5, connections: 64, timeline });
    const tBurst = Date.now();
    const during = await run(uncached, { protocol: 'validate', digests: mixed, rate: Math.round(capacity * 2), seconds: 10, connections: 128, timeline });
    const tAfter = Date.now();
    const after = await run(uncached, { protocol: 'validate', digests: mixed, rate: half, seconds: 20, connections: 64, timeline });
    const baseline = p99(timeline.filter(([t]) => t < tBurst).map(([, l]) => l));
    const bound = Math.max(2 * baseline, baseline + 5);
    const seconds = new Map();
    for (const [t, l] of timeline.filter(([t]) => t >= tAfter)) {
      const s = Math.floor((t - tAfter) / 1000);
      seconds.set(s, [...(seconds.get(s) ?? []), l]);
    }
    const perSecond = [...seconds.entries()].sort((a, b) => a[0] - b[0]).map(([s, ls]) => [s, p99(ls)]);
    const settled = perSecond.findIndex((_, i) => perSecond.slice(i).every(([, v]) => v <= bound));
    burst = { capacity, half, before, during, after, baseline, bound, perSecond, recoverS: settled < 0 ? undefined : perSecond[settled][0], rssEnd: uncached.rssMiB(), wall: (Date.now() - t0) / 1000 };
    rows.push({ name: 'burst: before (0.5x)', rate: half, ...before }, { name: 'burst: during (2x)', rate: Math.round(capacity * 2), ...during }, { name: 'burst: after (0.5x)', rate: half, ...after });
  } finally {
    await uncached.stop();
  }

  process.stdout.write(`\n${fmt(rows)}\n`);
  process.stdout.write(`admissions per minute (one process, /validate): cached ${(rows.find((r) => r.name === 'cached validate' && !r.rate).rps * 60).toFixed(0)}, uncached ${(capacity * 60).toFixed(0)}\n`);
  process.stdout.write(`burst: capacity ${capacity.toFixed(0)} req/s (uncached /validate); 0.5x = ${burst.half}, 2x = ${Math.round(capacity * 2)} req/s for 10 s; `
    + `p99 before ${burst.baseline.toFixed(1)} ms, during ${burst.during.p99.toFixed(1)} ms; peak RSS during ${burst.during.peakRssMiB.toFixed(0)} MiB, at the end ${burst.rssEnd.toFixed(0)} MiB; `
    + `per-second p99 back under ${burst.bound.toFixed(1)} ms ${burst.recoverS === undefined ? 'NOT within the 20 s after' : `${burst.recoverS} s after the burst ended`}\n`);
  process.stdout.write(`per-second p99 after the burst (ms): ${burst.perSecond.map(([s, v]) => `${s}:${v.toFixed(1)}`).join(' ')}\n`);
  process.stdout.write(`load average at the end: ${load()} (started ${started})\nreproduce: node bench/verifier-load.js (BENCH_SECONDS=${SECONDS} BENCH_ALLOWED=${ALLOWED} BENCH_DENIED=${DENIED})\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
