/**
 * Whether assets/modelseal-cli.js must be (re)built: it is missing, or older than a file under src/. Shared by the
 * demo (scripts/demo.ts) and the tests (test/helpers/cli-bundle.ts), which build it only then.
 */
import * as fs from 'fs';
import * as path from 'path';

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Whether the CLI bundle of the repository at `root` is missing or older than its sources. */
export function cliBundleIsStale(root: string): boolean {
  const bundle = path.join(root, 'assets', 'modelseal-cli.js');
  return !fs.existsSync(bundle) || fs.statSync(bundle).mtimeMs < newestSource(path.join(root, 'src'));
}
