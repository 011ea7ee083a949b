/**
 * Runs once before the whole test run: prints the one message that says which optional inputs are absent.
 */
import { CRDS_SKIP_MESSAGE, HAVE_CRDS } from './helpers/k8s';
import { HAVE_VECTORS, VECTORS_SKIP_MESSAGE } from './helpers/vectors';

export default function globalSetup(): void {
  if (!HAVE_VECTORS && process.env.CI !== 'true') {
    process.stderr.write(`\n${VECTORS_SKIP_MESSAGE}\n`);
  }
  if (!HAVE_CRDS && process.env.CI !== 'true') {
    process.stderr.write(`\n${CRDS_SKIP_MESSAGE}\n`);
  }
}
