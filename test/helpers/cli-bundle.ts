import { execFileSync } from 'child_process';
import * as path from 'path';
import { cliBundleIsStale } from '../../scripts/bundle-freshness';

/** The repository root. */
export const REPO_ROOT = path.join(__dirname, '..', '..');

/** The bundled CLI that `bin/modelseal` runs and the build runner ships. */
export const CLI_BUNDLE = path.join(REPO_ROOT, 'assets', 'modelseal-cli.js');

/**
 * Builds assets/modelseal-cli.js (esbuild, scripts/bundle.ts) when it is missing or older than src/.
 *
 * CI builds it before the tests (`projen ci`); this keeps a bare `npx jest` on a fresh clone working too.
 */
export function ensureCliBundle(): string {
  if (cliBundleIsStale(REPO_ROOT)) {
    execFileSync('npx', ['ts-node', '--project', 'tsconfig.dev.json', 'scripts/bundle.ts'], { cwd: REPO_ROOT, stdio: 'pipe' });
  }
  return CLI_BUNDLE;
}
