#!/usr/bin/env node
// Sealed-weights benchmark: `node bench/seal-bench.js` (from the repo root; see docs/BENCHMARKS.md "Sealing").
//
// Creates one synthetic model of BENCH_SEAL_GIB GiB (default 2) in one file under .bench/ (gitignored; reused when
// present), then, with a warm page cache (one warm-up run, then the best of BENCH_RUNS, default 3):
//   - seals it (the engine bundled from src/runtime/sealing into .bench/seal-direct.js; the data key from a file, so
//     KMS is not in the measurement): two passes (hash, then seal) at 1 MiB chunks, and one pass with the root digest
//     given (as `seal-weights --digest` runs) at chunk sizes of 1 MiB (the default) and 4 MiB;
//   - unseals it with the real CLI (`modelseal unseal`, bundled into .bench/modelseal-cli.js);
//   - runs `openssl dgst -sha256` over the same file as the single-core hashing reference;
// and prints wall time, throughput and peak RSS (GNU time) of each process, and the load average before and after (the
// two cores of this machine are shared with other work: a high load average makes the figures pessimistic).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { BENCH, MIB, ROOT, TIME, bundle, runOnce, table } = require('./lib');

const GIB = 1024 * MIB;
const SIZE = Number(process.env.BENCH_SEAL_GIB || 2) * GIB;
const RUNS = Number(process.env.BENCH_RUNS || 3);
const MODEL = path.join(BENCH, `seal-${SIZE / GIB}GiB`);

function generate(file, size) {
  const block = crypto.randomFillSync(Buffer.allocUnsafe(64 * MIB));
  const fd = fs.openSync(file + '.tmp', 'w');
  try {
    for (let pos = 0, i = 0; pos < size; i++) {
      block.writeUInt32LE(i, 0);
      const n = Math.min(block.length, size - pos);
      fs.writeSync(fd, block, 0, n);
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(file + '.tmp', file);
}

function load() {
  return os.loadavg().map((l) => l.toFixed(2)).join(' / ');
}

function best(label, make) {
  let top;
  for (let i = 0; i <= RUNS; i++) {
    const r = make();
    if (i > 0 && (!top || r.wall < top.wall)) top = r; // run 0 warms the page cache
  }
  return { case: label, 'wall s': top.wall.toFixed(2), 'GiB/s': (SIZE / GIB / top.wall).toFixed(2), 'peak RSS MiB': Number.isNaN(top.rss) ? 'n/a' : top.rss.toFixed(0) };
}

function main() {
  if (!TIME) console.warn('/usr/bin/time not found: peak RSS is not measured (apt-get install time)');
  bundle();
  const { buildSync } = require(path.join(ROOT, 'node_modules', 'esbuild'));
  const options = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'esbuild-cli.json'), 'utf8'));
  buildSync({ ...options, entryPoints: [path.join(ROOT, 'bench', 'seal-direct.ts')], outfile: path.join(BENCH, 'seal-direct.js'), logLevel: 'warning' });

  fs.mkdirSync(MODEL, { recursive: true });
  const file = path.join(MODEL, 'model.safetensors');
  if (!fs.existsSync(file) || fs.statSync(file).size !== SIZE) generate(file, SIZE);
  const keyFile = path.join(BENCH, 'seal-data.key');
  fs.writeFileSync(keyFile, crypto.randomBytes(32).toString('base64'));
  const sealed = (chunk) => path.join(BENCH, `sealed-${chunk}`);
  const plain = path.join(BENCH, 'unsealed');
  const clean = (...dirs) => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));

  const before = load();
  const rows = [];
  let root;
  rows.push(best('seal, 1 MiB chunks, two passes', () => {
    clean(sealed(MIB));
    const r = runOnce(process.execPath, [path.join(BENCH, 'seal-direct.js'), MODEL, sealed(MIB), keyFile, String(MIB)]);
    root = r.out;
    return r;
  }));
  for (const chunk of [MIB, 4 * MIB]) {
    rows.push(best(`seal, ${chunk / MIB} MiB chunks, one pass (--digest)`, () => {
      clean(sealed(chunk));
      return runOnce(process.execPath, [path.join(BENCH, 'seal-direct.js'), MODEL, sealed(chunk), keyFile, String(chunk), root]);
    }));
  }
  for (const chunk of [MIB, 4 * MIB]) {
    rows.push(best(`modelseal unseal, ${chunk / MIB} MiB chunks`, () => {
      clean(plain);
      return runOnce(process.execPath, [path.join(BENCH, 'modelseal-cli.js'), 'unseal', sealed(chunk), plain, '--data-key-file', keyFile]);
    }));
  }
  rows.push(best('openssl dgst -sha256 (reference)', () => runOnce('openssl', ['dgst', '-sha256', file])));
  const after = load();
  clean(plain, sealed(MIB), sealed(4 * MIB));

  console.log(`Sealed weights: one ${SIZE / GIB} GiB file, best of ${RUNS} warm runs; ${os.cpus().length} × ${os.cpus()[0].model}; Node ${process.version}`);
  console.log(`load average (1/5/15 min) before: ${before}; after: ${after}\n`);
  console.log(table(rows));
  console.log('Reproduce: node bench/seal-bench.js   (BENCH_SEAL_GIB=<GiB>, BENCH_RUNS=<n>)');
}

main();
