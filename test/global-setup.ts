/**
 * Runs once before the whole test run: prints the one message that says which optional inputs are absent, and gives
 * the run a temporary directory of its own (TMPDIR, inherited by the workers and every child process) that
 * test/global-teardown.ts removes. A CDK App without an `outdir` synthesizes into `os.tmpdir()/cdk.out*` and stages
 * its assets there (~70 MB each): left in the shared /tmp, one full run filled tens of GB.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CRDS_SKIP_MESSAGE, HAVE_CRDS } from './helpers/k8s';
import { HAVE_VECTORS, VECTORS_SKIP_MESSAGE } from './helpers/vectors';

/** The environment variable that names the run's temporary directory (read by the teardown). */
export const RUN_TMPDIR_ENV = 'MODELSEAL_TEST_RUN_TMPDIR';

export default function globalSetup(): void {
  if (!HAVE_VECTORS && process.env.CI !== 'true') {
    process.stderr.write(`\n${VECTORS_SKIP_MESSAGE}\n`);
  }
  if (!HAVE_CRDS && process.env.CI !== 'true') {
    process.stderr.write(`\n${CRDS_SKIP_MESSAGE}\n`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-test-run-'));
  process.env[RUN_TMPDIR_ENV] = dir;
  process.env.TMPDIR = dir;
}
