/**
 * Entry point of the `digest` bundle (assets/modelseal-digest.js): runs `modelseal digest` with nothing but the hashing
 * engine loaded. `bin/modelseal digest` starts here, so hashing a model does not first compile the whole CLI (the AWS
 * SDK clients, pkijs, CEL, the CycloneDX schemas: about 0.2 s of start-up, docs/BENCHMARKS.md "BLAKE3"). The full
 * bundle (assets/modelseal-cli.js) runs `digest` too, with the same code.
 */
import { digestCommand } from './commands/digest';
import { reportError } from './report';

const argv = process.argv.slice(2);
const io = { stdout: process.stdout, stderr: process.stderr };
digestCommand(argv.slice(1), io).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = reportError(e, io, argv.includes('--json'), 'digest');
  },
);
