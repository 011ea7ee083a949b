/**
 * Entry point of the bundled CLI (assets/modelseal-cli.js): runs {@link main} on the process arguments.
 *
 * Kept apart from main.ts so that importing main.ts (tests, other code) never starts the CLI.
 */
import { main } from './main';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
