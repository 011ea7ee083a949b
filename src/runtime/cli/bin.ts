/**
 * Entry point of the bundled CLI (assets/modelseal-cli.js): runs {@link main} on the process arguments.
 *
 * Kept apart from main.ts so that importing main.ts (tests, other code) never starts the CLI.
 */
import { main } from './main';

// The AWS SDK prints a Node.js version notice (NodeVersionSupportWarning) on the first client of every process; the
// CLI states its own supported versions (package.json engines, README), so the SDK's own switch turns it off unless the
// user set it. Set before any SDK client is created: the clients load on first use.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
