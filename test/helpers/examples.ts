import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { ensureCliBundle, REPO_ROOT } from './cli-bundle';

/** The examples folder. */
export const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');

/** The `context` of an example's cdk.json (the feature flags its app runs with). */
export function exampleContext(folder: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, folder, 'cdk.json'), 'utf8')).context ?? {};
}

/**
 * Synthesizes one stack of an example the way its app does (same context), and returns the stack and its template.
 * `CDK_VALIDATION` stays as the caller set it.
 */
export function synthExampleStack<T extends Stack>(folder: string, stackName: string, make: (app: App) => T): { stack: T; template: any } {
  ensureCliBundle(); // the build runner ships it as an asset
  const app = new App({ context: exampleContext(folder) });
  const stack = make(app);
  const template = app.synth().getStackByName(stackName).template;
  return { stack, template };
}
