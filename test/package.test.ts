/**
 * What the npm package ships, as `npm pack` sees it: lib/ holds the construct library only, and everything in it
 * loads with nothing but the peer dependencies and Node built-ins. A consumer installs no devDependency, so a lib/
 * file that required one (a runtime module that slipped into the jsii compile) would fail at their synth.
 *
 * Needs the jsii build (`npx projen compile`, which `npx projen ci` runs first).
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ensureCliBundle } from './helpers/cli-bundle';
import { importsOf, isBuiltin, packageName } from './helpers/imports';
import { validateBom } from '../src/runtime/sbom/cyclonedx';

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

ensureCliBundle();
const FILES = packedFiles();
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; engines: { node: string } };
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

  test('the runtime ships as the bundle, its source map and SBOM, and the bin shim, with the jsii assembly, docs and schemas', () => {
    expect(FILES).toEqual(expect.arrayContaining([
      'assets/modelseal-cli.js', 'assets/modelseal-cli.js.map', 'assets/modelseal-cli.cdx.json', 'assets/modelseal-digest.js',
      'assets/modelseal-digest.js.map', 'bin/modelseal', '.jsii', 'package.json',
      'README.md', 'API.md', 'docs/ARCHITECTURE.md', 'schemas/trust-policy.v1.schema.json', 'schemas/model-card.v1.schema.json',
    ]));
    expect(FILES.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('bench/'))).toEqual([]);
    // the verifier image's build context (copied from src/runtime/service/ at build time)
    expect(FILES).toEqual(expect.arrayContaining(['assets/Dockerfile', 'assets/container-entrypoint']));
    // no code cache or other file written at run time beside the bundle
    const built = /^assets\/(modelseal-(cli|digest)\.(js|js\.map|js\.LEGAL\.txt|cdx\.json)|Dockerfile|container-entrypoint)$/;
    expect(FILES.filter((f) => f.startsWith('assets/') && !built.test(f))).toEqual([]);
  });

  test('README and docs link only to files that ship (docs/ and schemas/ are in the package)', () => {
    const packed = new Set(FILES);
    const broken: string[] = [];
    for (const page of ['README.md', ...FILES.filter((f) => f.startsWith('docs/') && f.endsWith('.md'))]) {
      const text = fs.readFileSync(path.join(ROOT, page), 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(page), m[1]));
        if (/^[a-z]+:/.test(m[1]) || !/^(docs|schemas)\//.test(target)) {
          continue;
        }
        if (!packed.has(target)) {
          broken.push(`${page} links to ${m[1]}, which is not in the package`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('bundled CLI provenance (assets/)', () => {
  const bundle = fs.readFileSync(path.join(ROOT, 'assets', 'modelseal-cli.js'));
  const map = JSON.parse(fs.readFileSync(path.join(ROOT, 'assets', 'modelseal-cli.js.map'), 'utf8')) as { version: number; sources: string[]; sourcesContent: string[] };
  const sbom = JSON.parse(fs.readFileSync(path.join(ROOT, 'assets', 'modelseal-cli.cdx.json'), 'utf8'));

  test('the bundle links its source map, which carries every source', () => {
    expect(bundle.toString('utf8').trimEnd().endsWith('//# sourceMappingURL=modelseal-cli.js.map')).toBe(true);
    expect(map.version).toBe(3);
    expect(map.sources).toContain('../src/runtime/cli/bin.ts');
    expect(map.sourcesContent).toHaveLength(map.sources.length);
  });

  test('the SBOM is a valid CycloneDX 1.6 document naming the bundle by its SHA-256', () => {
    expect(() => validateBom(sbom)).not.toThrow();
    expect(sbom.specVersion).toBe('1.6');
    expect(sbom.metadata.component).toMatchObject({ name: 'modelseal', version: PKG.version, type: 'application' });
    expect(sbom.metadata.component.hashes).toEqual([{ alg: 'SHA-256', content: createHash('sha256').update(bundle).digest('hex') }]);
  });

  test('the SBOM lists exactly the npm packages the source map shows in the bundle, with version, license and purl', () => {
    const inMap = new Set(map.sources.map((s) => /^\.\.\/(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(s)?.[1]).filter((d): d is string => d !== undefined)
      .map((dir) => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8')) as { name: string; version: string };
        return `${pkg.name}@${pkg.version}`;
      }));
    const bundled = (sbom.components as { 'bom-ref': string; 'type': string; 'scope'?: string; 'purl': string; 'licenses'?: unknown[]; 'version': string }[])
      .filter((c) => c.scope !== 'optional' && c.type !== 'file');
    expect(new Set(bundled.map((c) => c['bom-ref']))).toEqual(inMap);
    expect(inMap.size).toBeGreaterThan(10);
    for (const c of bundled) {
      expect(c.purl).toMatch(/^pkg:npm\/(%40[^/]+\/)?[^@/]+@[^@]+$/);
      expect(c.purl.endsWith(`@${c.version}`)).toBe(true);
      expect(c.licenses?.length).toBeGreaterThan(0);
    }
    // the native addons kept out of the bundle are listed, as optional
    expect(sbom.components).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'pkcs11js', scope: 'optional' }),
      expect.objectContaining({ group: '@napi-rs', name: 'blake-hash', scope: 'optional' }),
    ]));
  });

  test('the digest bundle is listed as a file with its SHA-256, and holds no package the SBOM does not list', () => {
    const digest = fs.readFileSync(path.join(ROOT, 'assets', 'modelseal-digest.js'));
    expect(sbom.components).toEqual(expect.arrayContaining([expect.objectContaining({
      type: 'file', name: 'modelseal-digest.js', hashes: [{ alg: 'SHA-256', content: createHash('sha256').update(digest).digest('hex') }],
    })]));
    const digestMap = JSON.parse(fs.readFileSync(path.join(ROOT, 'assets', 'modelseal-digest.js.map'), 'utf8')) as { sources: string[] };
    const listed = new Set((sbom.components as { name: string; group?: string }[]).map((c) => (c.group ? `${c.group}/${c.name}` : c.name)));
    const used = digestMap.sources.map((src) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(src)?.[1]).filter((p): p is string => p !== undefined);
    expect(used.filter((p) => !listed.has(p))).toEqual([]);
    expect(digestMap.sources).toContain('../src/runtime/cli/digest-bin.ts');
  });

  test('package.json engines are no looser than any bundled package needs', () => {
    const cmp = (a: number[], b: number[]) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
    // the lowest version a range admits: the lowest lower bound of its `||` alternatives (`>=X`, `^X`, `~X` or a bare `X`)
    const min = (range: string) => range.split('||')
      .map((alt) => (/^\s*(?:>=|\^|~)?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(alt) ?? []).slice(1).map((n) => Number(n ?? 0)))
      .filter((v) => v.length === 3)
      .sort(cmp)[0] ?? [];
    const ours = min(PKG.engines.node);
    const needs = (sbom.components as { name: string; scope?: string; properties?: { name: string; value: string }[] }[])
      .filter((c) => c.scope !== 'optional' && c.name !== 'cyclonedx-library') // only its JSON schemas are bundled
      .flatMap((c) => (c.properties ?? []).filter((p) => p.name === 'cdx:npm:package:constraint:engine:node').map((p) => [c.name, p.value] as const));
    expect(needs.length).toBeGreaterThan(0);
    expect(needs.filter(([, range]) => min(range).length === 3 && cmp(min(range), ours) > 0)).toEqual([]);
  });
});
