/**
 * Key handling shared by signers and the verifier: loading EC keys, the OMS key hint, the curve a key is on and the
 * hash it signs with, and the check that a signature is strict DER. Curves come from the one table in
 * codec/curves.ts, DER from codec/der.ts.
 */
import { createHash, createPrivateKey, createPublicKey, KeyObject } from 'crypto';
import { CurveHash, CurveName, curveNamed, curveOfKey } from '../codec/curves';
import { decodeEcdsaSignature } from '../codec/der';
import { UsageError, VerificationError } from '../codec/errors';

/** The ECDSA curves OMS v1.0 supports (the Sigstore protobuf-specs key details). */
export type Curve = CurveName;

/**
 * Returns the curve of an EC key, or throws when the key is not on a supported curve.
 *
 * @param what names the key in the error (a file path or a flag)
 */
export function curveOf(key: KeyObject, what = 'key'): Curve {
  if (key.asymmetricKeyType !== 'ec') {
    throw new UsageError(
      `${what} is a ${key.asymmetricKeyType ?? key.type} key; OMS signatures need an ECDSA key on P-256, P-384 or P-521`);
  }
  const curve = curveOfKey(key);
  if (!curve) {
    throw new UsageError(`${what} is on curve ${key.asymmetricKeyDetails?.namedCurve || 'unknown'}; supported curves are P-256, P-384 and P-521`);
  }
  return curve.name;
}

/** The hash an ECDSA signature with this key uses: P-256 SHA-256, P-384 SHA-384, P-521 SHA-512. */
export function hashForKey(key: KeyObject): CurveHash {
  return hashForCurve(curveOf(key));
}

/** The hash paired with a curve. */
export function hashForCurve(curve: Curve): CurveHash {
  return curveNamed(curve)!.hash;
}

/**
 * The OMS key hint of a public key: hex SHA-256 of its SubjectPublicKeyInfo PEM text.
 *
 * Node's SPKI PEM export is byte-identical to Python cryptography's, which is what the reference hashes.
 */
export function keyHint(key: KeyObject): string {
  let hint = hints.get(key);
  if (hint === undefined) {
    hint = createHash('sha256').update(publicKeyPem(key)).digest('hex');
    hints.set(key, hint);
  }
  return hint;
}

/**
 * Hints already computed, per key object: the canonical PEM export takes ~0.25 ms, and a decision needs the hint of
 * every policy key and every verifying key (a KeyObject never changes, so its hint never does).
 */
const hints = new WeakMap<KeyObject, string>();

/**
 * The SPKI PEM text of a public key (or of a private key's public half), with the EC point uncompressed.
 *
 * One key has one text: a key loaded from a compressed-point file would otherwise get another hint, and could be
 * listed (or counted) as two signers. The uncompressed form is also what the reference implementation hashes.
 */
export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const canonical = pub.asymmetricKeyType === 'ec'
    ? createPublicKey({ key: pub.export({ format: 'jwk' }), format: 'jwk' })
    : pub;
  return canonical.export({ type: 'spki', format: 'pem' }) as string;
}

/**
 * Loads an EC public key from PEM (possibly preceded by a text dump, as `certtool`/`openssl -text` write) or DER SPKI.
 *
 * @param data the file contents
 * @param source names the file in errors
 */
export function loadPublicKey(data: Buffer, source: string): KeyObject {
  const text = data.toString('latin1');
  const m = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/.exec(text);
  let key: KeyObject;
  try {
    if (m) {
      key = createPublicKey({ key: m[0], format: 'pem' });
    } else if (/-----BEGIN /.test(text)) {
      const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
      throw new UsageError(`${source} holds a PEM "${label}" block; expected a "PUBLIC KEY" (SubjectPublicKeyInfo) block`);
    } else {
      key = createPublicKey({ key: data, format: 'der', type: 'spki' });
    }
  } catch (e) {
    if (e instanceof UsageError) {
      throw e;
    }
    throw new UsageError(`${source} is not a readable public key (${(e as Error).message}); expected a PEM or DER SubjectPublicKeyInfo EC key`);
  }
  curveOf(key, source);
  return key;
}

/** The environment variable that holds the password of an encrypted private key (the CLI reads it). */
export const KEY_PASSWORD_ENV = 'MODELSEAL_KEY_PASSWORD';

/** Whether PEM text holds an encrypted private key (encrypted PKCS#8, or a legacy PEM with `Proc-Type: 4,ENCRYPTED`). */
export function isEncryptedPem(data: Buffer): boolean {
  const text = data.toString('latin1');
  return text.includes('ENCRYPTED PRIVATE KEY') || /Proc-Type:\s*4,ENCRYPTED/.test(text);
}

/**
 * Loads an EC private key from PEM (PKCS#8, SEC1, or encrypted PKCS#8 with a password).
 *
 * @param data the file contents
 * @param source names the file in errors
 * @param password for encrypted keys
 */
export function loadPrivateKey(data: Buffer, source: string, password?: string): KeyObject {
  const encrypted = isEncryptedPem(data);
  if (encrypted && password === undefined) {
    throw new UsageError(`${source} is an encrypted private key; give its password in ${KEY_PASSWORD_ENV} or with --password-file FILE (or run in a terminal to be asked)`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(password === undefined ? { key: data, format: 'pem' } : { key: data, format: 'pem', passphrase: password });
  } catch (e) {
    const msg = (e as Error).message;
    if (encrypted) {
      throw new UsageError(`${source}: cannot decrypt the private key (${msg}); check the password`);
    }
    throw new UsageError(`${source} is not a readable PEM private key (${msg}); expected an EC key in PKCS#8 or SEC1 PEM`);
  }
  curveOf(key, source);
  return key;
}

/**
 * Checks that a signature is a strict DER `ECDSA-Sig-Value` for the curve, and throws a {@link VerificationError}
 * naming what is wrong otherwise.
 *
 * Verifying only canonical DER keeps one signature from having several encodings, and lets a raw r||s (IEEE P1363)
 * signature from a misconfigured signer fail with a message that says so.
 */
export function assertDerSignature(sig: Buffer, curve?: Curve): void {
  const size = curve === undefined ? undefined : curveNamed(curve)!.size;
  const raw = size !== undefined && sig.length === 2 * size ? ` (its ${sig.length} bytes look like a raw r||s signature)` : '';
  let parts;
  try {
    parts = decodeEcdsaSignature(sig);
  } catch (e) {
    throw new VerificationError(`${(e as Error).message}${raw}`);
  }
  for (const [part, int] of [['r', parts.r], ['s', parts.s]] as const) {
    if (size !== undefined && int.length > size + 1) {
      throw new VerificationError(`signature is not a DER-encoded ECDSA signature: ${part} is ${int.length} bytes, too long for ${curve} (made with a key on a larger curve?)`);
    }
  }
}

/** Whether two public keys are the same key (compared by their DER SPKI encoding). */
export function sameKey(a: KeyObject, b: KeyObject): boolean {
  const der = (k: KeyObject) => (k.type === 'private' ? createPublicKey(k) : k).export({ type: 'spki', format: 'der' });
  return der(a).equals(der(b));
}
