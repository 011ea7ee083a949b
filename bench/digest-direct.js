#!/usr/bin/env node
// Hashes a model with the engine directly (no CLI): `node bench/digest-direct.js <model> [workers]`.
// Prints the root digest and the resource count. Uses the esbuild bundle of src/runtime/engine/hashing.ts that
// bench/hash-bench.js writes to .bench/hashing.js, so it always measures the current source.
const path = require('path');

const engine = require(path.join(__dirname, '..', '.bench', 'hashing.js'));

async function main() {
  const model = process.argv[2];
  if (!model) {
    process.stderr.write('usage: node bench/digest-direct.js <model> [workers]\n');
    process.exit(2);
  }
  const workers = process.argv[3] !== undefined ? Number(process.argv[3]) : undefined;
  const manifest = await engine.hashModel(model, { workers });
  process.stdout.write(`sha256:${engine.rootDigest(manifest.resources)} ${manifest.resources.length} files\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(err.exitCode ?? 2);
});
