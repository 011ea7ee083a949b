/**
 * Signing any in-toto statement into the Sigstore bundle v0.3 / DSSE format OMS uses, so that attestations other
 * than the model signature (the AI SBOM, revocations, co-signatures) come out in exactly the same envelope.
 */
import { verify as cryptoVerify } from 'crypto';
import { buildBundle, BundleJson, serializeBundle } from './bundle';
import { assertDerSignature, curveOf, hashForKey, keyHint } from './keys';
import { IN_TOTO_PAYLOAD_TYPE, pae } from './pae';
import type { Signer } from './signer';
import { statementBytes } from './statement';
import { UsageError } from '../codec/errors';

/** What {@link signStatement} produced. */
export interface SignedStatement {
  /** The bundle, as JSON data. */
  readonly bundle: BundleJson;
  /** The bundle serialized as compact JSON, as the reference model_signing writes it. */
  readonly bundleText: string;
  /** The exact DSSE payload bytes that were signed (the statement, two-space indented). */
  readonly payload: Buffer;
  /** The signer's OMS key hint (for certificates, of the leaf's key). */
  readonly keyHint: string;
}

/**
 * Signs exact DSSE payload bytes (an in-toto statement) with `signer` and wraps them in a Sigstore bundle v0.3.
 *
 * The signature is checked against the signer's own public key before the bundle is returned: a signer that returns
 * a raw or otherwise wrong signature fails here instead of producing an attestation nobody can verify. A signer with
 * a `timestamp` method (a TSA was asked for) gets an RFC 3161 timestamp over the signature into the bundle, or the
 * signing fails. Co-signing uses this directly so that another party's statement bytes are never re-serialized.
 *
 * @throws UsageError when the signer produced an unusable signature
 */
export async function signPayload(payload: Buffer, signer: Signer): Promise<SignedStatement> {
  const message = pae(IN_TOTO_PAYLOAD_TYPE, payload);
  const signature = await signer.sign(message);
  const publicKey = await signer.publicKey();
  try {
    assertDerSignature(signature, curveOf(publicKey));
  } catch (e) {
    throw new UsageError(`the signer returned an unusable signature: ${(e as Error).message}`);
  }
  if (!cryptoVerify(hashForKey(publicKey), message, { key: publicKey, dsaEncoding: 'der' }, signature)) {
    throw new UsageError('the signer returned a signature that does not verify with its own public key; check that the key and the signer configuration match');
  }
  const timestamps = signer.timestamp ? [await signer.timestamp(signature)] : [];
  const bundle = buildBundle(await signer.verificationMaterial(), payload, signature, timestamps);
  return { bundle, bundleText: serializeBundle(bundle), payload, keyHint: keyHint(publicKey) };
}

/**
 * Signs an in-toto statement with `signer` into a Sigstore bundle v0.3 with a DSSE envelope.
 *
 * The statement is serialized the way OMS statements are (two-space indentation); see {@link signPayload}.
 *
 * @throws UsageError when the signer produced an unusable signature
 */
export async function signStatement(statement: Record<string, unknown>, signer: Signer): Promise<SignedStatement> {
  return signPayload(statementBytes(statement), signer);
}
