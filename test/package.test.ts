/**
 * What the npm package ships, as `npm pack` sees it: lib/ holds the construct library only, and everything in it
 * loads with nothing but the peer dependencies and Node built-ins. A consumer installs no devDependency, so a lib/
 * file that required one (a runtime module that slipped into the jsii compile) would fail at their synth.
 *
 * Needs the jsii build (`npx projen compile`, which `npx projen ci` runs first).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { importsOf, isBuiltin, packageName } from './helpers/imports';

const ROOT = path.join(__dirname, '..');
const PEERS = Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).peerDependencies ?? {});

function packedFiles(): string[] {
  if (!fs.existsSync(path.join(ROOT, 'lib', 'index.js'))) {
    throw new Error('lib/index.js is missing: build the library first (npx projen compile; npx projen ci does it)');
  }
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [pack] = JSON.parse(out) as { files: { path: string }[] }[];
  return pack.files.map((f) => f.path);
}

const FILES = packedFiles();
const LIB = FILES.filter((f) => f.startsWith('lib/'));

describe('npm package', () => {
  test('lib/ is the construct library only: no runtime module is packed', () => {
    expect(LIB).toContain('lib/index.js');
    expect(LIB).toContain('lib/aws/signing-key.js');
    expect(LIB.filter((f) => f.startsWith('lib/runtime/'))).toEqual([]);
    // the old places of the runtime, in case the layout regresses
    expect(LIB.filter((f) => /^lib\/(engine|signers|store|policy|sbom|provenance|cli)\//.test(f))).toEqual([]);
  });

  test('every file under lib/ loads only peer dependencies, Node built-ins and packed relative files', () => {
    expect(PEERS.sort()).toEqual(['aws-cdk-lib', 'cdk8s', 'cdk8s-plus-28', 'constructs']);
    const packed = new Set(FILES);
    const problems: string[] = [];
    let checked = 0;
    for (const file of LIB.filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))) {
      for (const spec of importsOf(path.join(ROOT, file))) {
        checked++;
        if (spec.startsWith('.')) {
          const base = path.posix.join(path.posix.dirname(file), spec);
          const candidates = file.endsWith('.d.ts') ? [`${base}.d.ts`, `${base}/index.d.ts`] : [`${base}.js`, `${base}/index.js`, base];
          if (!candidates.some((c) => packed.has(c))) {
            problems.push(`${file} loads ${spec}, which is not in the package`);
          }
        } else if (!isBuiltin(spec) && !PEERS.includes(packageName(spec))) {
          problems.push(`${file} loads ${spec}, which is neither a peer dependency nor a Node built-in`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(10);
  });

  test('the runtime ships as the bundle and the bin shim, with the jsii assembly', () => {
    expect(FILES).toEqual(expect.arrayContaining(['assets/modelseal-cli.js', 'bin/modelseal', '.jsii', 'package.json', 'README.md']));
    expect(FILES.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
  });
});
