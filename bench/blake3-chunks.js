#!/usr/bin/env node
// How the BLAKE3 read size and reading strategy were chosen: `node bench/blake3-chunks.js` (after
// `node bench/blake3-bench.js` has created .bench/blake3-1GiB.bin; see docs/BENCHMARKS.md "BLAKE3").
//
// In one process, for each read size, hashes the 1 GiB cached file with the native BLAKE3 (@napi-rs/blake-hash)
// three ways: synchronous reads then hash (sequential), async reads then hash (sequential), and double-buffered (the
// read of chunk N+1 in flight on the thread pool while chunk N is hashed, as src/runtime/engine/hashing.ts does).
// BENCH_RUNS (default 3) interleaved rounds; the median of each is printed, with the load average. In-process
// figures leave out start-up, so they flatter every strategy alike: the whole-command figure is blake3-bench.js's.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { BENCH, MIB, ROOT, table } = require('./lib');

const RUNS = Number(process.env.BENCH_RUNS || 3);
const FILE = path.join(BENCH, 'blake3-1GiB.bin');
const SIZES = (process.env.BLAKE3_CHUNKS || '131072,262144,524288,1048576,2097152,4194304').split(',').map(Number);
const { Blake3Hasher } = require(path.join(ROOT, 'node_modules', '@napi-rs', 'blake-hash'));

function syncSequential(chunk) {
  const h = new Blake3Hasher();
  const buf = Buffer.allocUnsafe(chunk);
  const fd = fs.openSync(FILE, 'r');
  try {
    for (let n, pos = 0; (n = fs.readSync(fd, buf, 0, chunk, pos)) > 0; pos += n) h.update(n === chunk ? buf : buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digestBuffer().toString('hex');
}

async function asyncSequential(chunk) {
  const h = new Blake3Hasher();
  const buf = Buffer.allocUnsafe(chunk);
  const fh = await fs.promises.open(FILE, 'r');
  try {
    for (let pos = 0; ;) {
      const { bytesRead } = await fh.read(buf, 0, chunk, pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return h.digestBuffer().toString('hex');
}

async function doubleBuffered(chunk) {
  const h = new Blake3Hasher();
  const bufs = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
  const fh = await fs.promises.open(FILE, 'r');
  try {
    const size = (await fh.stat()).size;
    let pos = 0;
    let i = 0;
    let pending = fh.read(bufs[0], 0, Math.min(chunk, size), 0);
    while (pending) {
      const { bytesRead } = await pending;
      const cur = bufs[i];
      pos += bytesRead;
      pending = pos < size ? fh.read(bufs[i ^ 1], 0, Math.min(chunk, size - pos), pos) : undefined;
      h.update(cur.subarray(0, bytesRead));
      i ^= 1;
    }
  } finally {
    await fh.close();
  }
  return h.digestBuffer().toString('hex');
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(fn, chunk) {
  const t0 = process.hrtime.bigint();
  const digest = await fn(chunk);
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9, digest };
}

async function main() {
  if (!fs.existsSync(FILE)) throw new Error(`${FILE} is missing: run node bench/blake3-bench.js first`);
  const strategies = [['sync read, then hash', syncSequential], ['async read, then hash', asyncSequential], ['double-buffered', doubleBuffered]];
  process.stdout.write(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; median of ${RUNS} interleaved rounds, 1 GiB cached file\n\n`);
  await time(syncSequential, MIB); // warm the page cache
  const walls = new Map();
  const digests = new Set();
  for (let r = 0; r < RUNS; r++) {
    for (const chunk of SIZES) {
      for (const [name, fn] of strategies) {
        const t = await time(fn, chunk);
        digests.add(t.digest);
        const key = `${name}|${chunk}`;
        walls.set(key, [...(walls.get(key) || []), t.wall]);
      }
    }
  }
  if (digests.size !== 1) throw new Error(`strategies disagree: ${[...digests].join(', ')}`);
  const rows = SIZES.map((chunk) => Object.fromEntries([
    ['read size', chunk >= MIB ? `${chunk / MIB} MiB` : `${chunk / 1024} KiB`],
    ...strategies.map(([name]) => [name, `${median(walls.get(`${name}|${chunk}`)).toFixed(3)} s`]),
  ]));
  process.stdout.write(table(rows));
  process.stdout.write(`\nload average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
