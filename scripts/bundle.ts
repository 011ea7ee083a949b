/**
 * Bundles the ModelSeal runtime (CLI) with esbuild into assets/, at build time.
 *
 * The construct library never bundles at a user's synth: the build runner ships the file this writes.
 * pkcs11js is a native addon esbuild cannot bundle; it stays external and is loaded only by the PKCS#11 signer.
 */
import * as path from 'path';
import { buildSync } from 'esbuild';

const root = path.join(__dirname, '..');

const result = buildSync({
  entryPoints: [path.join(root, 'src', 'cli', 'bin.ts')],
  outfile: path.join(root, 'assets', 'modelseal-cli.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['pkcs11js'],
  minify: false,
  sourcemap: false,
  legalComments: 'external',
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile!.outputs).reduce((n, o) => n + o.bytes, 0);
process.stdout.write(`bundled assets/modelseal-cli.js (${(bytes / 1024).toFixed(0)} KiB)\n`);
