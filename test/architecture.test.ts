/**
 * The repository's main boundary, checked on every import under src/ (docs/ARCHITECTURE.md):
 *
 * - the construct library (src/aws, src/private, src/shared, src/index.ts) never imports src/runtime;
 * - src/shared imports nothing but Node built-ins (and its own files);
 * - runtime folders form a layered order; each imports only from itself and the layers before it, so no cycle exists.
 */
import * as fs from 'fs';
import * as path from 'path';
import { importsOf, isBuiltin, packageName } from './helpers/imports';

const SRC = path.join(__dirname, '..', 'src');

/**
 * The runtime layers, lowest first. Folders in one layer may not import each other.
 */
export const RUNTIME_LAYERS: readonly (readonly string[])[] = [
  ['codec'],
  ['engine'],
  ['signers'],
  ['store'],
  ['policy'],
  ['sbom', 'provenance', 'sealing', 'review'],
  ['service'],
  ['cli'],
];

/** Packages the construct library may import at run time: its peer dependencies. */
const PEERS = ['aws-cdk-lib', 'constructs', 'cdk8s', 'cdk8s-plus-28'];

interface Edge {
  readonly from: string;
  readonly specifier: string;
  /** Repository-relative path of the target for relative imports; undefined for packages. */
  readonly to?: string;
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

function resolveRelative(from: string, specifier: string): string {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
      return path.relative(path.join(SRC, '..'), candidate);
    }
  }
  throw new Error(`${path.relative(SRC, from)} imports ${specifier}, which does not resolve to a file`);
}

function edges(): Edge[] {
  return walk(SRC).flatMap((file) => importsOf(file).map((specifier) => ({
    from: path.relative(path.join(SRC, '..'), file),
    specifier,
    ...(specifier.startsWith('.') ? { to: resolveRelative(file, specifier) } : {}),
  })));
}

/** `src/runtime/<area>/...` → `<area>`; anything else → undefined. */
function runtimeArea(file: string): string | undefined {
  return /^src\/runtime\/([^/]+)\//.exec(file.split(path.sep).join('/'))?.[1];
}

function layerOf(area: string): number {
  return RUNTIME_LAYERS.findIndex((l) => l.includes(area));
}

const ALL = edges();
const posix = (p: string) => p.split(path.sep).join('/');

describe('architecture', () => {
  test('the import scan sees the code (sanity check: known edges are found)', () => {
    expect(ALL.some((e) => posix(e.from) === 'src/runtime/cli/main.ts' && e.to !== undefined && runtimeArea(e.to) === 'engine')).toBe(true);
    expect(ALL.some((e) => posix(e.from) === 'src/aws/build-runner.ts' && e.to !== undefined && posix(e.to) === 'src/shared/model-name.ts')).toBe(true);
    // require() behind a function (commands load on first use) counts too
    expect(ALL.some((e) => posix(e.from) === 'src/runtime/cli/main.ts' && e.specifier === './commands/attest')).toBe(true);
  });

  test('every runtime folder has a place in the layer order', () => {
    const areas = fs.readdirSync(path.join(SRC, 'runtime'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(areas.filter((a) => layerOf(a) < 0)).toEqual([]);
  });

  test('runtime folders import only from themselves and earlier layers (so no cycle between them)', () => {
    const violations = ALL.flatMap((e) => {
      const from = runtimeArea(e.from);
      const to = e.to === undefined ? undefined : runtimeArea(e.to);
      if (from === undefined || to === undefined || from === to) {
        return [];
      }
      return layerOf(to) < layerOf(from) ? [] : [`${posix(e.from)} (${from}) imports ${e.specifier} (${to}): ${to} is not below ${from}`];
    });
    expect(violations).toEqual([]);
  });

  test('the construct library never imports the runtime', () => {
    const violations = ALL.filter((e) => !posix(e.from).startsWith('src/runtime/') && e.to !== undefined && posix(e.to).startsWith('src/runtime/'))
      .map((e) => `${posix(e.from)} imports ${e.specifier}`);
    expect(violations).toEqual([]);
  });

  test('the construct library imports only its peers and Node built-ins', () => {
    const violations = ALL.filter((e) => !posix(e.from).startsWith('src/runtime/') && e.to === undefined
      && !isBuiltin(e.specifier) && !PEERS.includes(packageName(e.specifier)))
      .map((e) => `${posix(e.from)} imports ${e.specifier}`);
    expect(violations).toEqual([]);
  });

  test('src/shared imports nothing but Node built-ins and its own files', () => {
    const violations = ALL.filter((e) => posix(e.from).startsWith('src/shared/'))
      .filter((e) => (e.to === undefined ? !isBuiltin(e.specifier) : !posix(e.to).startsWith('src/shared/')))
      .map((e) => `${posix(e.from)} imports ${e.specifier}`);
    expect(violations).toEqual([]);
  });

  test('the checks catch what they are for (a later-layer import, a runtime import, a package in shared)', () => {
    // A synthetic file list run through the same rules: proves the rules are not vacuous.
    const layered = (from: string, to: string) => layerOf(runtimeArea(to)!) < layerOf(runtimeArea(from)!);
    expect(layered('src/runtime/engine/verify.ts', 'src/runtime/signers/certificate.ts')).toBe(false);
    expect(layered('src/runtime/signers/kms.ts', 'src/runtime/engine/keys.ts')).toBe(true);
    expect(layered('src/runtime/sbom/attest.ts', 'src/runtime/provenance/slsa.ts')).toBe(false);
    expect(isBuiltin('node:crypto')).toBe(true);
    expect(isBuiltin('fs/promises')).toBe(true);
    expect(isBuiltin('yaml')).toBe(false);
    expect(PEERS.includes(packageName('aws-cdk-lib/aws-s3'))).toBe(true);
    expect(PEERS.includes(packageName('@aws-sdk/client-s3'))).toBe(false);
  });
});
