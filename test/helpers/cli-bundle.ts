import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** The repository root. */
export const REPO_ROOT = path.join(__dirname, '..', '..');

/** The bundled CLI that `bin/modelseal` runs and the build runner ships. */
export const CLI_BUNDLE = path.join(REPO_ROOT, 'assets', 'modelseal-cli.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Builds assets/modelseal-cli.js (esbuild, scripts/bundle.ts) when it is missing or older than src/.
 *
 * CI builds it before the tests (`projen ci`); this keeps a bare `npx jest` on a fresh clone working too.
 */
export function ensureCliBundle(): string {
  const stale = !fs.existsSync(CLI_BUNDLE) || fs.statSync(CLI_BUNDLE).mtimeMs < newestSource(path.join(REPO_ROOT, 'src'));
  if (stale) {
    execFileSync('npx', ['ts-node', '--project', 'tsconfig.dev.json', 'scripts/bundle.ts'], { cwd: REPO_ROOT, stdio: 'pipe' });
  }
  return CLI_BUNDLE;
}
