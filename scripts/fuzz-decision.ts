/**
 * The long fuzz run of the decision path (issue 10 #12): every target of test/helpers/fuzz-decision.ts with a large
 * budget, printing cases, time and failures. Each failing input (fast-check's shrunk counterexample) is written to
 * test/fixtures/fuzz-corpus/, which the unit suite replays on every run.
 *
 *   npx ts-node --transpile-only --project tsconfig.dev.json scripts/fuzz-decision.ts [--cases N] [--seed S] [--target NAME]
 *
 * Defaults: 100,000 cases spread evenly over the targets, a random seed (printed, so a run can be repeated).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as fc from 'fast-check';
import { CorpusEntry, fuzzContext, TARGET_NAMES, TargetName, targets } from '../test/helpers/fuzz-decision';

const CORPUS = path.join(__dirname, '..', 'test', 'fixtures', 'fuzz-corpus');

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const cases = Number(flag('cases') ?? 100_000);
  const seed = Number(flag('seed') ?? Date.now() % 2 ** 31);
  const only = flag('target') as TargetName | undefined;
  const names = only ? [only] : [...TARGET_NAMES];
  const perTarget = Math.ceil(cases / names.length);
  const ctx = await fuzzContext();
  const all = targets(ctx);
  console.log(`fuzz-decision: ${perTarget * names.length} cases (${perTarget} per target), seed ${seed}, node ${process.version}, `
    + `${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  let failures = 0;
  const started = Date.now();
  for (const name of names) {
    const t0 = Date.now();
    const target = all[name];
    const details = await fc.check(fc.asyncProperty(target.arbitrary, (input) => target.check(ctx, input)), {
      numRuns: perTarget, seed, endOnFailure: false,
    });
    const seconds = (Date.now() - t0) / 1000;
    if (details.failed && details.counterexample) {
      failures++;
      const input = details.counterexample[0];
      const entry: CorpusEntry = {
        target: name,
        input,
        note: `found by scripts/fuzz-decision.ts (seed ${seed}, run ${details.numRuns}): ${String((details.errorInstance as Error)?.message ?? details.errorInstance).slice(0, 300)}`,
      };
      const file = path.join(CORPUS, `${name}-${createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 12)}.json`);
      fs.mkdirSync(CORPUS, { recursive: true });
      fs.writeFileSync(file, JSON.stringify(entry, null, 2) + '\n');
      console.log(`${name.padEnd(13)} FAILED after ${details.numRuns} cases in ${seconds.toFixed(1)} s: ${entry.note}\n  kept in ${path.relative(process.cwd(), file)}`);
    } else {
      console.log(`${name.padEnd(13)} ${details.numRuns} cases in ${seconds.toFixed(1)} s (${(details.numRuns / seconds).toFixed(0)}/s), no failure`);
    }
  }
  const total = (Date.now() - started) / 1000;
  console.log(`total: ${perTarget * names.length} cases in ${total.toFixed(1)} s, ${failures} failing target(s); peak RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  return failures === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(2);
});
