#!/usr/bin/env node
// BLAKE3 benchmark: `node bench/blake3-bench.js` (from the repo root; see docs/BENCHMARKS.md "BLAKE3").
//
// The target of issue 11: `modelseal digest --hash-algorithm blake3 FILE` on one 1 GiB file in the page cache at
// least 2x the speed of `openssl dgst -sha256 FILE`, both timed as whole commands (start-up included), median of
// interleaved pairs in one run, with peak RSS at most 256 MB.
//
// Creates .bench/blake3-1GiB.bin (random data, gitignored, reused), bundles the current sources into
// .bench/modelseal-cli.js (the native BLAKE3 module resolves from node_modules, as it does beside an installed
// package) and a copy alone in .bench/alone/ (no node_modules: the WebAssembly fallback). Warms the page cache,
// then runs BENCH_ROUNDS (default 11) rounds; each round runs openssl and `modelseal digest --hash-algorithm blake3`
// as a pair, in alternating order (ABBA), then the other commands once. Reports the median, min and max wall time,
// the median of the per-round ratios (openssl / modelseal) and the largest peak RSS of each command, with the load
// average before and after (other processes on the machine skew every figure).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { BENCH, MIB, ROOT, TIME, bundle, runOnce, table } = require('./lib');

const GIB = 1024 * MIB;
const ROUNDS = Number(process.env.BENCH_ROUNDS || 11);
const FILE = path.join(BENCH, 'blake3-1GiB.bin');

function ensureFile() {
  fs.mkdirSync(BENCH, { recursive: true });
  if (fs.existsSync(FILE) && fs.statSync(FILE).size === GIB) return;
  process.stderr.write(`generating ${path.relative(ROOT, FILE)} (1 GiB of random data)\n`);
  const block = Buffer.allocUnsafe(64 * MIB);
  const fd = fs.openSync(FILE + '.tmp', 'w');
  try {
    for (let pos = 0; pos < GIB; pos += block.length) {
      crypto.randomFillSync(block);
      fs.writeSync(fd, block, 0, block.length, pos);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(FILE + '.tmp', FILE);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The BLAKE3 of the file computed in this process with the native module: the digest the CLI must print. */
function expectedBlake3() {
  const { Blake3Hasher } = require(path.join(ROOT, 'node_modules', '@napi-rs', 'blake-hash'));
  const h = new Blake3Hasher();
  const fd = fs.openSync(FILE, 'r');
  const buf = Buffer.allocUnsafe(16 * MIB);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digestBuffer().toString('hex');
}

function main() {
  ensureFile();
  bundle();
  const alone = path.join(BENCH, 'alone');
  fs.mkdirSync(alone, { recursive: true });
  fs.copyFileSync(path.join(BENCH, 'modelseal-cli.js'), path.join(alone, 'modelseal-cli.js'));
  const file = path.relative(ROOT, FILE);
  const openssl = ['openssl dgst -sha256', 'openssl', ['dgst', '-sha256', file]];
  const blake3 = ['modelseal digest --hash-algorithm blake3', 'node', ['bench/run-cli.js', 'digest', file, '--hash-algorithm', 'blake3']];
  const others = [
    ['modelseal digest (sha256)', 'node', ['bench/run-cli.js', 'digest', file]],
    ['modelseal digest --hash-algorithm blake2b', 'node', ['bench/run-cli.js', 'digest', file, '--hash-algorithm', 'blake2b']],
    ['blake3, WebAssembly fallback (bundle alone)', 'node', [path.join(alone, 'modelseal-cli.js'), 'digest', file, '--hash-algorithm', 'blake3']],
  ];

  const check = JSON.parse(runOnce('node', ['bench/run-cli.js', 'digest', file, '--hash-algorithm', 'blake3', '--json']).out);
  const want = expectedBlake3();
  if (check.resources[0].digest !== want) throw new Error(`modelseal's BLAKE3 ${check.resources[0].digest} is not ${want}`);

  const cpu = (os.cpus()[0] || { model: 'unknown' }).model;
  const loadStart = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  process.stdout.write(`machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / GIB).toFixed(0)} GiB RAM, node ${process.version}\n`);
  process.stdout.write(`1 GiB file in the page cache; ${ROUNDS} rounds of interleaved pairs (ABBA) after one warm-up run each` +
    `${TIME ? '' : ' (no /usr/bin/time: RSS not measured)'}\n`);
  process.stdout.write(`load average at start: ${loadStart}\n\n`);

  const all = [openssl, blake3, ...others];
  all.forEach(([, cmd, args]) => runOnce(cmd, args)); // warm-up: page cache, code caches
  const results = new Map(all.map(([label]) => [label, { walls: [], rss: 0 }]));
  const record = ([label, cmd, args]) => {
    const r = runOnce(cmd, args);
    const entry = results.get(label);
    entry.walls.push(r.wall);
    entry.rss = Math.max(entry.rss, r.rss);
    return r.wall;
  };
  const ratios = [];
  for (let i = 0; i < ROUNDS; i++) {
    const pair = i % 2 === 0 ? [openssl, blake3] : [blake3, openssl];
    const walls = pair.map(record);
    const [o, b] = i % 2 === 0 ? walls : [walls[1], walls[0]];
    ratios.push(o / b);
    others.forEach(record);
  }
  const rows = all.map(([label]) => {
    const r = results.get(label);
    const m = median(r.walls);
    return {
      command: label,
      'median wall': m.toFixed(3) + ' s',
      'min..max': `${Math.min(...r.walls).toFixed(2)}..${Math.max(...r.walls).toFixed(2)} s`,
      'GB/s': (GIB / m / 1e9).toFixed(2),
      'x openssl (medians)': (median(results.get(openssl[0]).walls) / m).toFixed(2),
      'peak RSS MiB': Number.isNaN(r.rss) ? 'n/a' : r.rss.toFixed(0),
    };
  });
  process.stdout.write(table(rows));
  const loadEnd = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  process.stdout.write(`\nmedian of the ${ROUNDS} per-pair ratios openssl / modelseal blake3: ${median(ratios).toFixed(2)}x ` +
    `(min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})\n`);
  process.stdout.write(`load average at end: ${loadEnd}\n`);
}

main();
