#!/usr/bin/env node
// Hashing benchmark: `node bench/hash-bench.js` (from the repo root; see docs/BENCHMARKS.md).
//
// Creates two synthetic models under .bench/ (gitignored; reused when present): one 2 GiB file, and 16 files of
// 128 MiB. For each model it times, with a warm page cache (one warm-up run of each command, then the best of
// BENCH_RUNS, default 3, interleaved rounds):
//   - `modelseal digest <model>`: the real CLI, bundled from src/runtime/cli/bin.ts with the options of scripts/bundle.ts
//     into .bench/modelseal-cli.js, run by bench/run-cli.js as `bin/modelseal` runs it (bundling
//     here means the figures never come from a stale assets/modelseal-cli.js),
//   - `node bench/digest-direct.js <model>` (the engine alone, bundled from src/runtime/engine by this script),
//   - `openssl dgst -sha256 <all files>` (one sequential stream: the single-core reference),
// and reports wall time, throughput, the ratio to openssl and the peak RSS of each process.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { BENCH, MIB, ROOT, TIME, bundle, generate, runOnce, table } = require('./lib');

const GIB = 1024 * MIB;
const RUNS = Number(process.env.BENCH_RUNS || 3);

const MODELS = [
  { name: 'single-2GiB', dir: path.join(BENCH, 'single-2GiB'), files: [['model.bin', 2 * GIB]] },
  {
    name: '16x128MiB',
    dir: path.join(BENCH, '16x128MiB'),
    files: Array.from({ length: 16 }, (_, i) => [`shard-${String(i).padStart(2, '0')}.bin`, 128 * MIB]),
  },
];

function ensureModels() {
  for (const m of MODELS) {
    fs.mkdirSync(m.dir, { recursive: true });
    m.files.forEach(([name, size], i) => {
      const file = path.join(m.dir, name);
      if (fs.existsSync(file) && fs.statSync(file).size === size) return;
      process.stderr.write(`generating ${path.relative(ROOT, file)} (${size / MIB} MiB)\n`);
      generate(file, size, i + 1);
    });
  }
}

/**
 * Times several commands on the same model: one warm-up run each, then RUNS rounds that run every command in
 * turn (interleaved, so a burst of load from other processes hits all of them alike). Keeps the best wall time
 * and the largest peak RSS of each.
 */
function measureAll(commands) {
  commands.forEach(([, cmd, args]) => runOnce(cmd, args));
  const results = commands.map(() => ({ wall: Infinity, rss: 0 }));
  for (let i = 0; i < RUNS; i++) {
    commands.forEach(([, cmd, args], k) => {
      const r = runOnce(cmd, args);
      results[k].wall = Math.min(results[k].wall, r.wall);
      results[k].rss = Math.max(results[k].rss, r.rss);
      results[k].out = r.out;
    });
  }
  return commands.map(([label], k) => [label, results[k]]);
}

function main() {
  ensureModels();
  bundle();
  const loadStart = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const cpu = (os.cpus()[0] || { model: 'unknown' }).model;
  process.stdout.write(`machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / GIB).toFixed(0)} GiB RAM, node ${process.version}\n`);
  process.stdout.write(`warm page cache, best of ${RUNS} interleaved rounds after one warm-up run each${TIME ? '' : ' (no /usr/bin/time: RSS not measured)'}\n\n`);
  const rows = [];
  for (const m of MODELS) {
    const files = m.files.map(([name]) => path.relative(ROOT, path.join(m.dir, name)));
    const bytes = m.files.reduce((n, [, size]) => n + size, 0);
    const dir = path.relative(ROOT, m.dir);
    const commands = [['openssl dgst -sha256 (1 stream)', 'openssl', ['dgst', '-sha256', ...files]]];
    // through bench/run-cli.js, as bin/modelseal runs it
    commands.push(['modelseal digest', 'node', ['bench/run-cli.js', 'digest', dir]]);
    commands.push(['engine direct (digest-direct.js)', 'node', ['bench/digest-direct.js', dir]]);
    const tools = measureAll(commands);
    const openssl = tools[0][1];
    // Every tool but openssl prints the root digest: they must agree.
    const roots = new Set(tools.slice(1).map(([, r]) => (/[0-9a-f]{64}/.exec(r.out) || ['?'])[0]));
    if (roots.size !== 1) throw new Error(`root digests differ for ${m.name}: ${[...roots].join(', ')}`);
    for (const [tool, r] of tools) {
      rows.push({
        model: m.name,
        tool,
        wall: r.wall.toFixed(2) + ' s',
        'GB/s': (bytes / r.wall / 1e9).toFixed(2),
        'x openssl': (openssl.wall / r.wall).toFixed(2),
        'peak RSS MiB': Number.isNaN(r.rss) ? 'n/a' : r.rss.toFixed(0),
      });
    }
  }
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  process.stdout.write(`load average at start: ${loadStart}, at end: ${load} (other processes skew the parallel figures)\n\n`);
  process.stdout.write(table(rows));
}

main();
