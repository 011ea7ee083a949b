'use strict';
// Runs the esbuild bundle of the modelseal CLI with a V8 code cache beside it.
//
// Every command pays for compiling the 1.5 MB bundle (AWS SDK clients, CEL, the CycloneDX schemas) before it does
// anything; with the cache V8 skips most of that (about 90 ms of a 250 ms start here). The cache is only an
// accelerator: V8 rejects one made for other source or another V8 version, the bundle is then compiled as usual, and
// a fresh cache is written if the folder is writable.
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const Module = require('module');

function runBundle(bundle) {
  const cacheFile = `${bundle}.v8cache`;
  const source = fs.readFileSync(bundle, 'utf8');
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    // written at exit, so the functions the run compiled lazily are in the cache too
    process.once('exit', () => {
      try {
        fs.writeFileSync(`${cacheFile}.${process.pid}`, script.createCachedData());
        fs.renameSync(`${cacheFile}.${process.pid}`, cacheFile);
      } catch {
        // a read-only install: run without a cache
      }
    });
  }
  const mod = new Module(bundle, module);
  mod.filename = bundle;
  mod.paths = Module._nodeModulePaths(path.dirname(bundle));
  script.runInThisContext()(mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
}

module.exports = { runBundle };
