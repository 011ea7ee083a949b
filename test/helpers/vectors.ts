/**
 * Access to the shared OMS interoperability vectors (../shared/vectors/oms beside the project root: the reference
 * model_signing test vectors and the OMS spec schemas, kept outside this repository).
 *
 * When the folder is absent the conformance suites are skipped without running their bodies (a body may read vector
 * files), and test/global-setup.ts says so once for the whole run. Under CI=true, where the folder is part of the
 * machine, each such suite fails instead, so a broken checkout cannot silently drop them.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Root of the OMS vectors. */
export const VECTORS_DIR = path.join(__dirname, '..', '..', '..', 'shared', 'vectors', 'oms');

/** Whether the vectors are present on this machine. */
export const HAVE_VECTORS = fs.existsSync(path.join(VECTORS_DIR, 'README.md'));

/** The one message a run without the vectors prints (test/global-setup.ts); .ci/run lists lines starting SKIPPED:. */
export const VECTORS_SKIP_MESSAGE = `SKIPPED: the OMS conformance tests (reference vectors and spec schemas): ${VECTORS_DIR} is absent. ` +
  'The rest of the suite runs without it; under CI=true these tests fail instead.';

/**
 * `describe` for suites that need the vectors: the suite itself when they are present; without them, under CI=true a
 * suite with one failing test that says what is missing, otherwise a skipped suite whose body never runs.
 */
export function describeVectors(name: string, body: () => void): void {
  if (HAVE_VECTORS) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test('needs the OMS vectors (required under CI=true)', () => {
        throw new Error(`${VECTORS_DIR} is missing; CI=true requires ../shared/vectors/oms beside the repository`);
      });
    });
  } else {
    describe.skip(name, () => {
      test(`skipped: ${VECTORS_DIR} is absent`, () => undefined);
    });
  }
}

/** Absolute path of a file under the vectors folder. */
export function vectorPath(...parts: string[]): string {
  return path.join(VECTORS_DIR, ...parts);
}

/** Contents of a file under the vectors folder. */
export function readVector(...parts: string[]): Buffer {
  return fs.readFileSync(vectorPath(...parts));
}

/** The model-transparency P-384 test public key (the file starts with a text dump; the PEM block follows). */
export const SIGNING_KEY_PUB = ['model-transparency', 'keys', 'signing-key-pub.pem'];
/** The model-transparency root CA certificate. */
export const CA_CERT = ['model-transparency', 'keys', 'ca-cert.pem'];
/** Root digest of the model-transparency v1.1.0 model (signme-1 with newline, signme-2). */
export const V110_ROOT = '92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4';
