/**
 * Builds the world bench/verifier-load.js measures the verifier in: a two-signer trust policy, `ALLOWED` model
 * digests signed by both signers and `DENIED` signed by one, all in a local store, and TLS material from
 * `modelseal tls init`'s code. Bundled by bench/verifier-load.js into .bench/ (esbuild) and run there:
 *
 *   node .bench/verifier-world.js DIR ALLOWED DENIED   → writes DIR/world.json
 *
 * The manifests are synthetic (no files to hash): the verifier never reads model bytes, only the signed statements.
 */
import { createHash, generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { makeVerifierTls } from '../src/runtime/cli/commands/tls';
import { cosignBundle } from '../src/runtime/engine/cosign';
import { signManifest } from '../src/runtime/engine/sign';
import { LocalKeySigner } from '../src/runtime/signers/local';
import { deriveKey } from '../src/runtime/store/keys';
import { LocalStore } from '../src/runtime/store/local';

async function main(): Promise<void> {
  const [dir, allowedArg, deniedArg] = process.argv.slice(2);
  const allowed = Number(allowedArg);
  const denied = Number(deniedArg);
  fs.mkdirSync(dir, { recursive: true });
  const key = (name: string) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    fs.writeFileSync(path.join(dir, `${name}.pub.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
    return { signer: new LocalKeySigner(privateKey), publicKey };
  };
  const ci = key('ci');
  const compliance = key('compliance');
  fs.writeFileSync(path.join(dir, 'policy.yaml'), [
    'apiVersion: modelseal.dev/v1', 'kind: TrustPolicy', 'signers:', '  - name: ci', '    publicKey: ci.pub.pem',
    '  - name: compliance', '    publicKey: compliance.pub.pem', 'require:', '  allOf: [ci, compliance]', 'revokers: [compliance]', '',
  ].join('\n'));
  const store = new LocalStore(path.join(dir, 'store'));
  const put = async (text: string) => {
    const body = Buffer.from(text);
    await store.put(deriveKey(body).key, body);
  };
  const digests: { allowed: string[]; denied: string[] } = { allowed: [], denied: [] };
  for (let i = 0; i < allowed + denied; i++) {
    const resources = ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'tokenizer.json']
      .map((name) => ({ name, algorithm: 'sha256', digest: createHash('sha256').update(`${i}/${name}`).digest('hex') }));
    const signed = await signManifest(`model-${i}`, { resources, serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ['.git'] } }, ci.signer);
    await put(signed.bundleText);
    if (i < allowed) {
      await put((await cosignBundle(Buffer.from(signed.bundleText), compliance.signer, { trust: { publicKey: ci.publicKey } })).bundleText);
      digests.allowed.push(`sha256:${signed.rootDigest}`);
    } else {
      digests.denied.push(`sha256:${signed.rootDigest}`);
    }
  }
  const tls = await makeVerifierTls({ service: 'modelseal-verifier', namespace: 'modelseal-system', days: 2, caDays: 3 });
  fs.writeFileSync(path.join(dir, 'tls.crt'), tls.certPem);
  fs.writeFileSync(path.join(dir, 'tls.key'), tls.keyPem, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'ca.crt'), tls.caPem);
  fs.writeFileSync(path.join(dir, 'world.json'), JSON.stringify({ digests, store: store.uri, policy: path.join(dir, 'policy.yaml') }));
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
