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

const argv = process.argv.slice(2);
void main(argv).then((code) => {
  process.exitCode = code;
  if (argv[0] === 'serve') {
    // The service has shut down; a keep-alive socket of an SDK client must not keep the process (and the pod) alive.
    setTimeout(() => process.exit(code), 2000).unref();
  }
});
