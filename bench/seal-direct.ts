/**
 * Seals a model directory with the engine alone (no KMS: the data key comes from a file), for bench/seal-bench.js.
 * Bundled by it into .bench/seal-direct.js; usage: node .bench/seal-direct.js MODEL_DIR OUT_DIR KEY_FILE CHUNK_SIZE [sha256:ROOT]
 * (with the root digest, sealing takes one pass, as `seal-weights --digest` does)
 */
import * as fs from 'fs';
import { sealModel } from '../src/runtime/sealing/seal';

async function main(): Promise<void> {
  const [model, out, keyFile, chunk, root] = process.argv.slice(2);
  const dataKey = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'base64');
  const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const result = await sealModel(model, out, { dataKey, encryptedDataKey: Buffer.alloc(184, 1), keyArn, chunkSize: Number(chunk),
    ...(root ? { expectedRootDigest: root.replace(/^sha256:/, '') } : {}) });
  process.stdout.write(`sha256:${result.rootDigest}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
