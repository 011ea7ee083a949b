#!/usr/bin/env node
'use strict';
// CLI start-up: the bundle as it ships (plain require, as bin/modelseal runs it) against the same bundle with a V8
// code cache made ahead of time and only read at run time (bench/run-cli-cached.js), with `node -e 0` for reference.
//
//   node bench/startup-bench.js            # STARTUP_RUNS=30 for more runs per figure
//
// It bundles the current sources into .bench/ (as scripts/bundle.ts does), makes the cache by running the bundle
// once (`--version`) and saving V8's code cache at exit, then times each command STARTUP_RUNS times, interleaved.
const fs = require('fs');
const os = require('os');
const path = require('path');
const vm = require('vm');
const Module = require('module');
const { BENCH, bundle, runOnce, table } = require('./lib');

const RUNS = Number(process.env.STARTUP_RUNS || 15);
const CLI = path.join(BENCH, 'modelseal-cli.js');

if (process.argv[2] === '--make-cache') {
  // Build-time step of the cached variant: compile, run one command, and write the cache of what it compiled.
  const script = new vm.Script(Module.wrap(fs.readFileSync(CLI, 'utf8')), { filename: CLI });
  process.argv.splice(2, 1);
  process.once('exit', () => fs.writeFileSync(`${CLI}.v8cache`, script.createCachedData()));
  const mod = new Module(CLI, module);
  mod.filename = CLI;
  mod.paths = Module._nodeModulePaths(BENCH);
  script.runInThisContext()(mod.exports, Module.createRequire(CLI), mod, CLI, BENCH);
  return;
}

function main() {
  bundle();
  fs.rmSync(`${CLI}.v8cache`, { force: true });
  runOnce('node', [__filename, '--make-cache', '--version']);
  const model = path.join(BENCH, 'small-model');
  fs.mkdirSync(model, { recursive: true });
  for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(model, `f${i}.bin`), Buffer.alloc(64 * 1024, i));
  const commands = [
    ['node -e 0 (reference)', ['-e', '0']],
    ['--version, plain bundle (as shipped)', ['bench/run-cli.js', '--version']],
    ['--version, build-time code cache (read only)', ['bench/run-cli-cached.js', '--version']],
    ['digest 8x64KiB, plain bundle (as shipped)', ['bench/run-cli.js', 'digest', path.relative(process.cwd(), model)]],
    ['digest 8x64KiB, build-time code cache (read only)', ['bench/run-cli-cached.js', 'digest', path.relative(process.cwd(), model)]],
  ];
  commands.forEach(([, args]) => runOnce('node', args));
  const walls = commands.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    commands.forEach(([, args], k) => {
      const r = runOnce('node', args);
      if (r.err.includes('code cache rejected')) throw new Error('the code cache was rejected');
      walls[k].push(r.wall);
    });
  }
  const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
  const rows = commands.map(([label], k) => {
    const sorted = [...walls[k]].sort((a, b) => a - b);
    return { command: label, best: ms(sorted[0]), median: ms(sorted[Math.floor(sorted.length / 2)]) };
  });
  process.stdout.write(`node ${process.version}, ${os.cpus().length} cores, ${RUNS} interleaved runs each after one warm-up, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  process.stdout.write(`bundle ${(fs.statSync(CLI).size / 1024).toFixed(0)} KiB, code cache ${(fs.statSync(`${CLI}.v8cache`).size / 1024).toFixed(0)} KiB\n\n`);
  process.stdout.write(table(rows));
}

main();
