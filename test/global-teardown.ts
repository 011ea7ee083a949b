/**
 * Runs once after the whole test run: removes the run's temporary directory made by test/global-setup.ts.
 */
import * as fs from 'fs';
import { RUN_TMPDIR_ENV } from './global-setup';

export default function globalTeardown(): void {
  const dir = process.env[RUN_TMPDIR_ENV];
  if (dir && /modelseal-test-run-[^/]+$/.test(dir)) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
