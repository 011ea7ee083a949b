'use strict';
// Runs .bench/modelseal-cli.js with a V8 code cache made ahead of time by bench/startup-bench.js and only read here:
// the variant of "ship a build-time code cache" that the start-up benchmark measures against the plain bundle.
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const Module = require('module');

const bundle = path.join(__dirname, '..', '.bench', 'modelseal-cli.js');
const cachedData = fs.readFileSync(`${bundle}.v8cache`);
const script = new vm.Script(Module.wrap(fs.readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
if (script.cachedDataRejected) {
  process.stderr.write('code cache rejected (another V8 version or other source)\n');
}
const mod = new Module(bundle, module);
mod.filename = bundle;
mod.paths = Module._nodeModulePaths(path.dirname(bundle));
script.runInThisContext()(mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
