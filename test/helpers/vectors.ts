/**
 * Access to the shared OMS interoperability vectors (../shared/vectors/oms beside the project root).
 *
 * When the folder is absent the conformance tests skip, and say so.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Root of the OMS vectors. */
export const VECTORS_DIR = path.join(__dirname, '..', '..', '..', 'shared', 'vectors', 'oms');

/** Whether the vectors are present on this machine. */
export const HAVE_VECTORS = fs.existsSync(path.join(VECTORS_DIR, 'README.md'));

if (!HAVE_VECTORS) {
  // eslint-disable-next-line no-console
  console.warn(`OMS vectors not found at ${VECTORS_DIR}; the OMS conformance tests are skipped`);
}

/** `describe` that runs only when the vectors are present. */
export const describeVectors: jest.Describe = HAVE_VECTORS ? describe : describe.skip;

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
