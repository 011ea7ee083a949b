'use strict';
// Shared by the benchmarks: bundling the current sources into .bench/, running a command, printing a table.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const BENCH = path.join(ROOT, '.bench');
const MIB = 1024 * 1024;

/**
 * Bundles the engine (for digest-direct.js), the CLI and the CLI's `digest` entry into .bench/ with the options of
 * scripts/bundle.ts.
 */
function bundle() {
  fs.mkdirSync(BENCH, { recursive: true });
  const { buildSync } = require(path.join(ROOT, 'node_modules', 'esbuild'));
  const options = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'esbuild-cli.json'), 'utf8'));
  const build = (entry, out) => buildSync({ ...options, entryPoints: [entry], outfile: path.join(BENCH, out), logLevel: 'warning' });
  build(path.join(ROOT, 'src', 'runtime', 'engine', 'hashing.ts'), 'hashing.js');
  build(path.join(ROOT, 'src', 'runtime', 'cli', 'bin.ts'), 'modelseal-cli.js');
  build(path.join(ROOT, 'src', 'runtime', 'cli', 'digest-bin.ts'), 'modelseal-digest.js');
}

const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Runs a command once; returns wall seconds, peak RSS in MiB and stdout. */
function runOnce(cmd, args) {
  const rssFile = path.join(BENCH, 'rss.txt');
  const argv = TIME ? ['-f', '%M', '-o', rssFile, cmd, ...args] : args;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME ?? cmd, argv, { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * MIB });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const rss = TIME ? Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024 : NaN;
  return { wall, rss, out: r.stdout.trim(), err: r.stderr };
}

/** Writes `size` bytes of random-looking data fast: one 64 MiB random block, a varying 16-byte prefix per write. */
function generate(file, size, seed) {
  const block = require('crypto').randomFillSync(Buffer.allocUnsafe(64 * MIB));
  const fd = fs.openSync(`${file}.tmp`, 'w');
  try {
    for (let pos = 0, i = 0; pos < size; i++) {
      const n = Math.min(block.length, size - pos);
      block.writeUInt32LE(seed, 0);
      block.writeUInt32LE(i, 4);
      fs.writeSync(fd, block, 0, n, pos);
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${file}.tmp`, file);
}

/** A Markdown table of `rows` (objects with the same keys). */
function table(rows) {
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals) => '| ' + vals.map((v, i) => String(v).padEnd(width[i])).join(' | ') + ' |';
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => r[c])))].join('\n') + '\n';
}

module.exports = { ROOT, BENCH, MIB, TIME, bundle, generate, runOnce, table };
