#!/usr/bin/env node
// Junk-object benchmark (review F4): `node bench/junk-bench.js` (from the repo root; see docs/BENCHMARKS.md, "Junk
// objects under a root").
//
// The reviewer's case: a model digest signed by both signers of a two-signer policy, plus 6 junk objects of 60 MB each
// (valid JSON, at their own content addresses, as anyone with s3:PutObject could write them) under bundles/ and
// attestations/ of that digest, in a local store. Runs `modelseal check --json` with the CLI bundled from the current
// sources (into .bench/), and, when BEFORE_CLI names an older bundled CLI (e.g. one built from main before the fix),
// that one too, each BENCH_RUNS times (default 3; best wall time kept). Reports wall time and peak RSS
// (/usr/bin/time -f %M), the decision, and the objects fetched and bytes read: the current CLI reports them in its
// `store` field; an older one reads every object listed, so its figures are the listing's count and total size.
// JUNK_MB (default 60) and JUNK_COUNT (default 6) change the case. The world is built under .bench/junk-world.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { BENCH, MIB, ROOT, TIME, bundle, table } = require('./lib');

const RUNS = Number(process.env.BENCH_RUNS || 3);
const JUNK_MB = Number(process.env.JUNK_MB || 60);
const JUNK_COUNT = Number(process.env.JUNK_COUNT || 6);
const WORLD = path.join(BENCH, 'junk-world');

function buildWorld() {
  fs.rmSync(WORLD, { recursive: true, force: true });
  const { buildSync } = require(path.join(ROOT, 'node_modules', 'esbuild'));
  const options = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'esbuild-cli.json'), 'utf8'));
  buildSync({ ...options, entryPoints: [path.join(ROOT, 'bench', 'verifier-world.ts')], outfile: path.join(BENCH, 'verifier-world.js'), logLevel: 'warning' });
  const r = require('child_process').spawnSync(process.execPath, [path.join(BENCH, 'verifier-world.js'), WORLD, '1', '0'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('building the world failed');
  const world = JSON.parse(fs.readFileSync(path.join(WORLD, 'world.json'), 'utf8'));
  const digest = world.digests.allowed[0];
  const root = digest.slice('sha256:'.length);
  const storeDir = path.join(WORLD, 'store');
  const hint = 'ab'.repeat(32);
  let total = 0;
  for (let i = 0; i < JUNK_COUNT; i++) {
    // valid JSON of JUNK_MB MB: {"pad":"<i>xxxx…"}
    const body = Buffer.alloc(JUNK_MB * 1000 * 1000, 'x');
    Buffer.from(`{"pad":"${i}`).copy(body, 0);
    Buffer.from('"}').copy(body, body.length - 2);
    const obj = crypto.createHash('sha256').update(body).digest('hex');
    const key = i % 2 === 0 ? `bundles/sha256/${root}/${hint}/${obj}.sig.json` : `attestations/sha256/${root}/x/${hint}/${obj}.json`;
    fs.mkdirSync(path.dirname(path.join(storeDir, key)), { recursive: true });
    fs.writeFileSync(path.join(storeDir, key), body);
    total += body.length;
  }
  const listed = [];
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : listed.push(fs.statSync(path.join(d, e.name)).size)));
  for (const f of ['bundles', 'attestations', 'notation', 'revocations']) {
    const dir = path.join(storeDir, f, 'sha256', root);
    if (fs.existsSync(dir)) walk(dir);
  }
  return { digest, storeDir, policy: world.policy, junkBytes: total, listedObjects: listed.length, listedBytes: listed.reduce((a, b) => a + b, 0) };
}

function measure(name, cli, w) {
  let best;
  for (let i = 0; i < RUNS; i++) {
    const r = runOnceAnyExit(cli, w);
    if (!best || r.wall < best.wall) best = r;
  }
  const report = JSON.parse(best.out);
  const stats = report.store;
  return {
    cli: name,
    decision: report.decision,
    'objects fetched': stats ? stats.fetched : `${w.listedObjects} (all listed)`,
    'bytes read': stats ? stats.bytesFetched : `${w.listedBytes} (all listed)`,
    'refused unread': stats ? stats.oversize + stats.overBudget : 0,
    'wall s': best.wall.toFixed(2),
    'peak RSS MiB': Number.isNaN(best.rss) ? 'n/a' : best.rss.toFixed(0),
  };
}

/** Runs `check` once under /usr/bin/time; exit 1 (a denial) is a result here, not a failure. */
function runOnceAnyExit(cli, w) {
  const rssFile = path.join(BENCH, 'rss.txt');
  const argv = [cli, 'check', '--store', w.storeDir, '--policy', w.policy, w.digest, '--json'];
  const t0 = process.hrtime.bigint();
  const r = require('child_process').spawnSync(TIME ?? process.execPath, TIME ? ['-f', '%M', '-o', rssFile, process.execPath, ...argv] : argv, { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * MIB });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cli} check failed (${r.status}): ${r.stderr}`);
  const rss = TIME ? Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024 : NaN;
  return { wall, rss, out: r.stdout.trim() };
}

function main() {
  bundle();
  const w = buildWorld();
  process.stdout.write(`store: ${w.listedObjects} objects under ${w.digest} (${JUNK_COUNT} junk of ${JUNK_MB} MB, ${w.junkBytes} bytes); load average ${require('os').loadavg().map((x) => x.toFixed(2)).join(' ')}\n\n`);
  const rows = [];
  if (process.env.BEFORE_CLI) rows.push(measure(`before (${path.basename(process.env.BEFORE_CLI)})`, path.resolve(process.env.BEFORE_CLI), w));
  rows.push(measure('after (current sources)', path.join(BENCH, 'modelseal-cli.js'), w));
  process.stdout.write(table(rows));
}

main();
