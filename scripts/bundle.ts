/**
 * Bundles the ModelSeal runtime (CLI) with esbuild into assets/, at build time, with what makes it auditable:
 *
 * - `assets/modelseal-cli.js`: the bundle (minified; see scripts/esbuild-cli.json);
 * - `assets/modelseal-cli.js.map`: its source map, with the sources, so every byte traces back to a file;
 * - `assets/Dockerfile`, `assets/container-entrypoint`: the verifier image (src/runtime/service/Dockerfile), whose build
 *   context is assets/;
 * - `assets/modelseal-cli.cdx.json`: a CycloneDX 1.6 SBOM of what the bundle contains: every npm package esbuild put
 *   bytes of into it (from esbuild's metafile), with name, version, license and package URL read from the package's
 *   own package.json, and the bundle's SHA-256; native addons kept out of the bundle (pkcs11js, @napi-rs/blake-hash) are listed as optional.
 *   It is validated against the CycloneDX 1.6 schema before it is written.
 *
 * The construct library never bundles at a user's synth: the build runner ships the file this writes.
 * pkcs11js and @napi-rs/blake-hash are native addons esbuild cannot bundle; they stay external and are loaded only when
 * used (the PKCS#11 signer; BLAKE3, which falls back to the bundled WebAssembly build without it).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
// eslint-disable-next-line import/no-extraneous-dependencies -- build-time tool
import * as CDX from '@cyclonedx/cyclonedx-library';
// eslint-disable-next-line import/no-extraneous-dependencies -- build-time tool
import { buildSync, BuildOptions, Metafile } from 'esbuild';
import { validateBom } from '../src/runtime/sbom/cyclonedx';

const root = path.join(__dirname, '..');
const outfile = path.join(root, 'assets', 'modelseal-cli.js');

// Shared with bench/hash-bench.js, so the benchmark measures the CLI exactly as it ships. Minified: start-up is
// dominated by compiling the bundle (the AWS SDK clients, CEL, the CycloneDX schemas), and every command pays it.
const options = JSON.parse(fs.readFileSync(path.join(__dirname, 'esbuild-cli.json'), 'utf8')) as BuildOptions;

/** What each native addon kept out of the bundle is for (the SBOM says so). */
const EXTERNAL_USES: Record<string, string> = {
  'pkcs11js': 'PKCS#11 signing',
  '@napi-rs/blake-hash': 'BLAKE3 hashing; without it the bundled WebAssembly BLAKE3 is used',
};

// assets/ holds only what this build writes: nothing stale (an old code cache, a previous map) can ship.
fs.rmSync(path.join(root, 'assets'), { recursive: true, force: true });
const result = buildSync({
  ...options,
  entryPoints: [path.join(root, 'src', 'runtime', 'cli', 'bin.ts')],
  outfile,
  absWorkingDir: root,
  sourcemap: 'linked',
  logLevel: 'warning',
  metafile: true,
});

// `bin/modelseal digest` starts from a bundle of the hashing engine alone: compiling the full CLI first costs about
// 0.2 s, which the whole-command hashing figure counts (docs/BENCHMARKS.md "BLAKE3"). Same options, same sources.
const digestFile = path.join(root, 'assets', 'modelseal-digest.js');
const digestResult = buildSync({
  ...options,
  entryPoints: [path.join(root, 'src', 'runtime', 'cli', 'digest-bin.ts')],
  outfile: digestFile,
  absWorkingDir: root,
  sourcemap: 'linked',
  logLevel: 'warning',
  metafile: true,
});

// The verifier image's build context is assets/: its Dockerfile and the `modelseal` launcher sit beside the bundle.
for (const file of ['Dockerfile', 'container-entrypoint']) {
  fs.copyFileSync(path.join(root, 'src', 'runtime', 'service', file), path.join(root, 'assets', file));
}

const bundle = fs.readFileSync(outfile);
const digestBundle = fs.readFileSync(digestFile);
const missing = [...bundledPackageDirs(digestResult.metafile!)].filter((d) => !bundledPackageDirs(result.metafile!).has(d));
if (missing.length > 0) {
  throw new Error(`the digest bundle holds packages the CLI bundle does not (${missing.join(', ')}): the SBOM would not cover them`);
}
const sbom = bundleSbom(result.metafile!, bundle, digestBundle);
fs.writeFileSync(path.join(root, 'assets', 'modelseal-cli.cdx.json'), sbom);
const packages = (JSON.parse(sbom) as { components: unknown[] }).components.length;
process.stdout.write(`bundled assets/modelseal-cli.js (${(bundle.length / 1024).toFixed(0)} KiB) and modelseal-digest.js ` +
  `(${(digestBundle.length / 1024).toFixed(0)} KiB), their source maps and the SBOM (${packages} packages)\n`);

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly [k: string]: unknown;
}

/** The package folders an esbuild output holds bytes of (tree-shaken modules are not in the bundle). */
function bundledPackageDirs(metafile: Metafile): Set<string> {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined)!;
  return new Set(Object.entries(output.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([file]) => packageDirOf(file))
    .filter((d): d is string => d !== undefined));
}

/**
 * The CycloneDX 1.6 SBOM of the CLI bundle, as JSON text. The `digest` bundle, built from a subset of the same
 * sources and packages, is listed as a file component with its SHA-256.
 */
function bundleSbom(metafile: Metafile, bytes: Buffer, digestBytes: Buffer): string {
  const packageDirs = bundledPackageDirs(metafile);
  // the native addons scripts/esbuild-cli.json keeps out of the bundle (loaded by a computed require, so esbuild never
  // sees the import): the bundle loads them when the feature that needs them is used
  const externals = options.external ?? [];

  const builder = new CDX.Contrib.FromNodePackageJson.Builders.ComponentBuilder(
    new CDX.Contrib.FromNodePackageJson.Factories.ExternalReferenceFactory(), new CDX.Contrib.License.Factories.LicenseFactory(checkSpdxExpression));
  const component = (pkg: PackageJson, type: CDX.Enums.ComponentType) => {
    const c = builder.makeComponent(pkg, type)!;
    c.purl = `pkg:npm/${c.group ? `${encodeURIComponent(c.group)}/` : ''}${encodeURIComponent(c.name)}@${encodeURIComponent(pkg.version)}` as never;
    c.bomRef.value = `${pkg.name}@${pkg.version}`;
    return c;
  };

  const self = readPackage(root);
  const bom = new CDX.Models.Bom();
  const hash = createHash('sha256').update(bytes).digest('hex');
  bom.serialNumber = nameBasedUuid(`modelseal-cli:${self.version}:${hash}`);
  bom.metadata.lifecycles.add(CDX.Enums.LifecyclePhase.Build);
  bom.metadata.tools.components.add(component(readPackage(path.join(root, 'node_modules', 'esbuild')), CDX.Enums.ComponentType.Application));
  const main = component(self, CDX.Enums.ComponentType.Application);
  main.description = 'The modelseal CLI, bundled: assets/modelseal-cli.js';
  main.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], hash);
  bom.metadata.component = main;
  const seen = new Set<string>();
  for (const dir of [...packageDirs].sort()) {
    const pkg = readPackage(path.join(root, dir));
    const c = component(pkg, CDX.Enums.ComponentType.Library);
    if (!seen.has(c.bomRef.value!)) {
      seen.add(c.bomRef.value!);
      bom.components.add(c);
      main.dependencies.add(c.bomRef);
    }
  }
  const digestComponent = new CDX.Models.Component(CDX.Enums.ComponentType.File, 'modelseal-digest.js', {
    bomRef: 'assets/modelseal-digest.js',
    description: 'The `modelseal digest` command alone (bin/modelseal starts it for digest), built from the same sources; its packages are a subset of the ones listed here.',
  });
  digestComponent.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], createHash('sha256').update(digestBytes).digest('hex'));
  bom.components.add(digestComponent);
  for (const name of [...externals].sort()) {
    const c = component(readPackage(path.join(root, 'node_modules', name)), CDX.Enums.ComponentType.Library);
    c.scope = CDX.Enums.ComponentScope.Optional;
    c.properties.add(new CDX.Models.Property('modelseal:bundled', 'false'));
    c.description = `Native addon kept out of the bundle; loaded only when used (${EXTERNAL_USES[name] ?? 'see docs/ARCHITECTURE.md'}).`;
    bom.components.add(c);
  }
  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6));
  const json = serializer.serialize(bom, { sortLists: true, space: 2 });
  validateBom(JSON.parse(json));
  return json + '\n';
}

/** `node_modules/@scope/name/lib/x.js` → `node_modules/@scope/name` (the innermost package); first-party files → undefined. */
function packageDirOf(file: string): string | undefined {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file.split(path.sep).join('/'));
  return m?.[1];
}

/** Accepts an SPDX license expression of known license ids (`MIT`, `(MIT OR Apache-2.0)`); the library asks for one. */
function checkSpdxExpression(expression: string): void {
  const tokens = expression.replace(/[()]/g, ' ').split(/\s+/).filter(Boolean);
  if (tokens.length === 0 || !tokens.every((t) => ['AND', 'OR', 'WITH'].includes(t) || CDX.SPDX.isSupportedSpdxId(t.replace(/\+$/, '')))) {
    throw new Error(`not an SPDX expression of known license ids: ${expression}`);
  }
}

function readPackage(dir: string): PackageJson {
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** A UUID derived from `name` (RFC 9562 version 5 layout, SHA-1), so the same bundle always gets the same serial number. */
function nameBasedUuid(name: string): string {
  const h = createHash('sha1').update(name).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
