#!/usr/bin/env node
// Pull benchmark: `node bench/pull-bench.js` (from the repo root; see docs/BENCHMARKS.md, "Pull").
//
// `modelseal pull` of a 1 GiB model (4 files of 256 MiB) and a 4 GiB model (16 files of 256 MiB), each signed by
// two parties into a local store, from a local folder into an empty DEST: the decision, then every byte read,
// hashed and written once. The CLI is bundled from the current sources into .bench/ (as bench/hash-bench.js does).
// Reports wall time, throughput, CPU time (user + system: what a shared, loaded machine distorts least) and the peak
// RSS of the pull process (/usr/bin/time), next to `openssl dgst -sha256` (read and hash, one stream) and `cp -r` (the
// copy alone) of the same files as references; BENCH_RUNS (default 2) rounds, best kept. Models are
// generated once under .bench/ (gitignored) and reused; DEST is emptied between runs.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { BENCH, MIB, ROOT, TIME, bundle, generate, runOnce, table } = require('./lib');

const RUNS = Number(process.env.BENCH_RUNS || 2);
const CLI = path.join(BENCH, 'modelseal-cli.js');
const MODELS = [
  { name: '1GiB', files: 4 },
  { name: '4GiB', files: 16 },
];

/** Runs a command once under /usr/bin/time: wall seconds, CPU seconds (user + system) and peak RSS in MiB. */
function timed(cmd, args) {
  const out = path.join(BENCH, 'pull-time.txt');
  const t0 = process.hrtime.bigint();
  const r = require('child_process').spawnSync(TIME, ['-f', '%M %U %S', '-o', out, cmd, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * MIB });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [rss, user, sys] = fs.readFileSync(out, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: user + sys, rss: rss / 1024 };
}

function cli(...args) {
  return runOnce(process.execPath, [CLI, ...args]);
}

function main() {
  const started = new Date().toISOString();
  process.stdout.write(`modelseal pull benchmark, ${started}, node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  if (!TIME) throw new Error('/usr/bin/time is needed for peak RSS (apt-get install -y time)');
  bundle();
  const work = path.join(BENCH, 'pull');
  fs.mkdirSync(work, { recursive: true });
  for (const name of ['ci', 'compliance']) {
    if (!fs.existsSync(path.join(work, `${name}.key.pem`))) {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      fs.writeFileSync(path.join(work, `${name}.key.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      fs.writeFileSync(path.join(work, `${name}.pub.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
    }
  }
  fs.writeFileSync(path.join(work, 'policy.yaml'), 'apiVersion: modelseal.dev/v1\nkind: TrustPolicy\nsigners:\n  - name: ci\n    publicKey: ci.pub.pem\n'
    + '  - name: compliance\n    publicKey: compliance.pub.pem\nrequire:\n  allOf: [ci, compliance]\n');
  const store = path.join(work, 'store');
  const rows = [];
  for (const m of MODELS) {
    const dir = path.join(BENCH, `pull-${m.name}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < m.files; i++) {
      const file = path.join(dir, `model-${String(i + 1).padStart(5, '0')}-of-${String(m.files).padStart(5, '0')}.safetensors`);
      if (!fs.existsSync(file) || fs.statSync(file).size !== 256 * MIB) {
        process.stderr.write(`generating ${path.relative(ROOT, file)}\n`);
        generate(file, 256 * MIB, i + 1);
      }
    }
    const sig = path.join(work, `${m.name}.ci.sig`);
    const co = path.join(work, `${m.name}.co.sig`);
    const digest = cli('sign', 'key', dir, '--private-key', path.join(work, 'ci.key.pem'), '--signature', sig, '--json');
    const root = JSON.parse(digest.out).rootDigest;
    cli('sign', 'key', '--from-bundle', sig, '--verify-key', path.join(work, 'ci.pub.pem'), '--private-key', path.join(work, 'compliance.key.pem'), '--signature', co);
    cli('publish', '--store', store, sig, co);
    const bytes = m.files * 256 * MIB;
    const dest = path.join(work, 'dest');
    const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
    const tools = {
      'modelseal pull (decide, read, hash, write)': () => timed(process.execPath, [CLI, 'pull', dir, dest, '--store', store, '--policy', path.join(work, 'policy.yaml'), '--digest', root]),
      'openssl dgst -sha256 (read, hash; 1 stream)': () => timed('openssl', ['dgst', '-sha256', ...files]),
      'cp -r (copy only)': () => timed('cp', ['-r', dir, dest]),
    };
    const best = {};
    for (let r = 0; r < RUNS + 1; r++) {
      for (const [tool, run] of Object.entries(tools)) {
        fs.rmSync(dest, { recursive: true, force: true });
        const res = run();
        if (r === 0) continue; // warm-up round
        if (!best[tool] || res.wall < best[tool].wall) best[tool] = res;
      }
    }
    fs.rmSync(dest, { recursive: true, force: true });
    for (const [tool, b] of Object.entries(best)) {
      rows.push({
        model: m.name, tool, wall: `${b.wall.toFixed(2)} s`, 'GB/s': (bytes / b.wall / 1e9).toFixed(2),
        'CPU s (user+sys)': b.cpu.toFixed(2), 'GB per CPU s': (bytes / b.cpu / 1e9).toFixed(2), 'peak RSS MiB': b.rss.toFixed(0),
      });
    }
  }
  process.stdout.write(`\n${table(rows)}\nload average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\nreproduce: node bench/pull-bench.js (BENCH_RUNS=${RUNS})\n`);
}

main();
