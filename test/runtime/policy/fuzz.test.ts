/**
 * Issue 10 #12: the decision path under mutated input, with a small budget (the long run is
 * scripts/fuzz-decision.ts), and every input that ever failed replayed from test/fixtures/fuzz-corpus/.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as fc from 'fast-check';
import { statementManifestDigest } from '../../../src/runtime/engine/manifest';
import { parseStatement } from '../../../src/runtime/engine/statement';
import { CorpusEntry, fuzzContext, FuzzContext, mutateJson, replay, TARGET_NAMES, targets } from '../../helpers/fuzz-decision';

const CORPUS = path.join(__dirname, '..', '..', 'fixtures', 'fuzz-corpus');
/** Cases per target in the unit suite: a few hundred in all, a few seconds. */
const RUNS = 60;

let ctx: FuzzContext;
beforeAll(async () => {
  ctx = await fuzzContext();
});

describe('fuzzing the decision path (small budget)', () => {
  test.each(TARGET_NAMES)('%s: only engine errors, and a mutation never verifies as something else', async (name) => {
    const target = targets(ctx)[name];
    await fc.assert(fc.asyncProperty(target.arbitrary, (input) => target.check(ctx, input)), { numRuns: RUNS });
  });
});

describe('fuzz corpus: every input that ever failed', () => {
  const files = fs.existsSync(CORPUS) ? fs.readdirSync(CORPUS).filter((f) => f.endsWith('.json')).sort() : [];

  test('the corpus exists and every entry names a known target', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const entry = JSON.parse(fs.readFileSync(path.join(CORPUS, f), 'utf8')) as CorpusEntry;
      expect(TARGET_NAMES).toContain(entry.target);
    }
  });

  test.each(files)('%s still passes', async (file) => {
    await replay(ctx, JSON.parse(fs.readFileSync(path.join(CORPUS, file), 'utf8')) as CorpusEntry);
  });
});

describe('the corpus entries for issue 10 are real attacks', () => {
  test('each mutated statement keeps the root digest and changes the manifest: only counting per manifest denies it', () => {
    for (const file of ['statement-issue10-rename.json', 'statement-issue10-lookalike-name.json']) {
      const entry = JSON.parse(fs.readFileSync(path.join(CORPUS, file), 'utf8')) as CorpusEntry;
      const text = mutateJson(ctx.statement, entry.input as Parameters<typeof mutateJson>[1]);
      const parsed = parseStatement(Buffer.from(text));
      expect(parsed.rootDigest).toBe(ctx.root);
      expect(statementManifestDigest(parsed, JSON.parse(text))).not.toBe(ctx.manifest);
    }
  });
});
