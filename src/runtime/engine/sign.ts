/**
 * Signing a model: manifest → in-toto statement → DSSE PAE → signature → Sigstore bundle.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import type { BundleJson } from './bundle';
import { hashModel, ModelHashOptions } from './hashing';
import { signPayload } from './sign-statement';
import type { Signer } from './signer';
import { buildStatement, statementBytes } from './statement';
import type { Manifest } from './types';
import { UsageError } from '../codec/errors';

/** Options of {@link signModel}. */
export interface SignModelOptions extends ModelHashOptions {
  /**
   * Where to write the bundle. The file is left out of the manifest when it lies inside the model.
   *
   * @default - the bundle is returned, not written
   */
  readonly signaturePath?: string;
}

/** What {@link signModel} produced. */
export interface SignResult {
  /** The bundle, as JSON data. */
  readonly bundle: BundleJson;
  /** The bundle as written (compact JSON). */
  readonly bundleText: string;
  /** The signed manifest (resources in signed order). */
  readonly manifest: Manifest;
  /** The root digest (`subject[0].digest.sha256`). */
  readonly rootDigest: string;
  /** The subject name (the model path's base name). */
  readonly subjectName: string;
  /** The signer's key hint (for certificates, of the leaf's key). */
  readonly keyHint: string;
}

/**
 * Hashes the model at `modelPath` and signs it with `signer`, producing an OMS v1.0 bundle.
 *
 * The signature is checked against the signer's public key before the bundle is returned, so a signer that
 * returns a raw or otherwise wrong signature fails here instead of producing a bundle nobody can verify.
 *
 * @throws UsageError for unreadable models or a signer that produced an unusable signature
 */
export async function signModel(modelPath: string, signer: Signer, opts: SignModelOptions = {}): Promise<SignResult> {
  const manifest = await hashModel(modelPath, opts);
  return signManifest(path.basename(path.resolve(modelPath)), manifest, signer, opts.signaturePath);
}

/**
 * Signs an already computed manifest.
 *
 * @param subjectName the statement's subject name (by convention the model directory's base name)
 * @param signaturePath where to write the bundle, if anywhere
 */
export async function signManifest(subjectName: string, manifest: Manifest, signer: Signer, signaturePath?: string): Promise<SignResult> {
  if (manifest.resources.length === 0) {
    throw new UsageError(`model "${subjectName}" has no files to sign after exclusions`);
  }
  const statement = buildStatement(subjectName, manifest);
  const { bundle, bundleText, keyHint } = await signPayload(statementBytes(statement), signer);
  if (signaturePath) {
    try {
      await fs.writeFile(signaturePath, bundleText);
    } catch (e) {
      throw new UsageError(`cannot write signature ${signaturePath}: ${(e as Error).message}`);
    }
  }
  const root = (statement.subject as { digest: { sha256: string } }[])[0].digest.sha256;
  return { bundle, bundleText, manifest, rootDigest: root, subjectName, keyHint };
}
