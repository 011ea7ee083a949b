/**
 * Bundles the ModelSeal runtime (CLI) with esbuild into assets/, at build time.
 *
 * The construct library never bundles at a user's synth: the build runner ships the file this writes.
 * pkcs11js is a native addon esbuild cannot bundle; it stays external and is loaded only by the PKCS#11 signer.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildSync, BuildOptions } from 'esbuild';

const root = path.join(__dirname, '..');

// Shared with bench/hash-bench.js, so the benchmark measures the CLI exactly as it ships. Minified: start-up is
// dominated by compiling the bundle (the AWS SDK clients, CEL, the CycloneDX schemas), and every command pays it.
const options = JSON.parse(fs.readFileSync(path.join(__dirname, 'esbuild-cli.json'), 'utf8')) as BuildOptions;

const result = buildSync({
  ...options,
  entryPoints: [path.join(root, 'src', 'runtime', 'cli', 'bin.ts')],
  outfile: path.join(root, 'assets', 'modelseal-cli.js'),
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile!.outputs).reduce((n, o) => n + o.bytes, 0);
process.stdout.write(`bundled assets/modelseal-cli.js (${(bytes / 1024).toFixed(0)} KiB)\n`);
