/**
 * Sigstore bundle v0.3 JSON holding a DSSE envelope: building it when signing, parsing it strictly when verifying.
 */
import type { KeyObject } from 'crypto';
import { promises as fs } from 'fs';
import { loadPublicKey } from './keys';
import { IN_TOTO_PAYLOAD_TYPE } from './pae';
import type { VerificationMaterial } from './signer';
import { decodeBase64 as decodeBase64Field } from '../codec/base64';
import { isHexDigest } from '../codec/digest';
import { UsageError, VerificationError } from '../codec/errors';
import { isJsonObject, parseJson } from '../codec/json';

/** The only bundle media type OMS v1.0 uses. */
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** The most RFC 3161 timestamps a bundle may carry; each is a CMS signature to verify. */
export const MAX_TIMESTAMPS = 8;

/** Default ceiling on a bundle's size: large enough for any manifest, small enough to refuse a hostile file. */
export const DEFAULT_MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

/** A Sigstore bundle v0.3 as ModelSeal writes it (JSON shape). */
export interface BundleJson {
  readonly mediaType: string;
  readonly verificationMaterial: Record<string, unknown>;
  readonly dsseEnvelope: {
    readonly payload: string;
    readonly payloadType: string;
    readonly signatures: { readonly sig: string; readonly keyid?: string | null }[];
  };
}

/** What a parsed bundle says about the key that signed it. */
export type BundleKeyMaterial =
  /** Key-signed: `publicKey.hint` (current) or `publicKey.rawBytes` + `keyDetails` (v1.0.x). */
  | { readonly kind: 'publicKey'; readonly hint?: string; readonly rawKey?: KeyObject; readonly keyDetails?: string }
  /** Certificate-signed: DER certificates, leaf first. */
  | { readonly kind: 'x509CertificateChain'; readonly certificates: Buffer[] }
  /** Sigstore keyless: a Fulcio certificate plus transparency-log entries. */
  | { readonly kind: 'certificate'; readonly certificate: Buffer; readonly tlogEntries: number };

/** A bundle after structural checks; nothing in it is trusted yet. */
export interface ParsedBundle {
  /** The bundle document as parsed (for verifiers that read it whole: sigstore-js, for keyless bundles). */
  readonly json: Record<string, unknown>;
  readonly material: BundleKeyMaterial;
  readonly payloadType: string;
  /** The decoded DSSE payload (statement bytes, exactly as signed). */
  readonly payload: Buffer;
  /** The decoded signature of the only DSSE signature. */
  readonly signature: Buffer;
  /**
   * The DER `TimeStampResp` of each RFC 3161 timestamp in `verificationMaterial.timestampVerificationData`, in
   * bundle order (empty when there is none); engine/timestamp.ts verifies them.
   */
  readonly timestamps: Buffer[];
}

/**
 * Builds the bundle the reference model_signing writes: verification material, an empty `tlogEntries`, and a DSSE
 * envelope with one signature whose `keyid` is empty. RFC 3161 timestamps over the signature, when given, go in
 * `timestampVerificationData.rfc3161Timestamps` as Sigstore clients write them.
 *
 * @param timestamps DER `TimeStampResp` values (engine/timestamp.ts)
 */
export function buildBundle(material: VerificationMaterial, payload: Buffer, signature: Buffer, timestamps: readonly Buffer[] = []): BundleJson {
  const timestampData = timestamps.length === 0 ? {}
    : { timestampVerificationData: { rfc3161Timestamps: timestamps.map((t) => ({ signedTimestamp: t.toString('base64') })) } };
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: { ...material, tlogEntries: [], ...timestampData },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signatures: [{ sig: signature.toString('base64'), keyid: '' }],
    },
  };
}

/** Serializes a bundle as compact JSON, as the reference does. */
export function serializeBundle(bundle: BundleJson): string {
  return JSON.stringify(bundle);
}

/**
 * Reads a bundle file, refusing files larger than `maxBytes` before reading them.
 *
 * @throws UsageError when the file cannot be read; VerificationError when it is over the limit
 */
export async function readBundleFile(file: string, maxBytes = DEFAULT_MAX_BUNDLE_BYTES): Promise<Buffer> {
  let size: number;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) {
      throw new UsageError(`signature ${file} is not a regular file`);
    }
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) {
      throw e;
    }
    throw new UsageError(`cannot read signature ${file}: ${(e as Error).message}`);
  }
  if (size > maxBytes) {
    throw new VerificationError(
      `signature ${file} is ${size} bytes, over the ${maxBytes}-byte bundle size limit; raise it with --max-bundle-size if this bundle is expected`);
  }
  const data = await fs.readFile(file);
  if (data.length > maxBytes) {
    throw new VerificationError(`signature ${file} grew past the ${maxBytes}-byte bundle size limit while being read`);
  }
  return data;
}

/**
 * Parses bundle bytes strictly, throwing a {@link VerificationError} that names the problem.
 *
 * @param data the bundle file's bytes
 * @param source names the bundle in errors
 * @param maxBytes size limit (default 64 MiB)
 */
export function parseBundle(data: Buffer, source = 'bundle', maxBytes = DEFAULT_MAX_BUNDLE_BYTES): ParsedBundle {
  if (data.length > maxBytes) {
    throw new VerificationError(`${source} is ${data.length} bytes, over the ${maxBytes}-byte bundle size limit`);
  }
  const text = data.toString('utf8');
  if (text.trim() === '') {
    throw new VerificationError(`${source} is empty; expected a Sigstore bundle v0.3 JSON document`);
  }
  const doc = parseJson(data, source);
  if (!isJsonObject(doc)) {
    throw new VerificationError(`${source} is not a JSON object; expected a Sigstore bundle v0.3`);
  }
  if (doc.mediaType !== BUNDLE_MEDIA_TYPE) {
    throw new VerificationError(`${source} has mediaType ${JSON.stringify(doc.mediaType)}; expected "${BUNDLE_MEDIA_TYPE}"`);
  }
  const material = parseMaterial(doc.verificationMaterial, source);
  const env = doc.dsseEnvelope;
  if (!isJsonObject(env)) {
    throw new VerificationError(
      `${source} has no dsseEnvelope; OMS bundles carry the signed statement in a DSSE envelope`);
  }
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new VerificationError(
      `${source} has DSSE payloadType ${JSON.stringify(env.payloadType)}; expected "${IN_TOTO_PAYLOAD_TYPE}"`);
  }
  const payload = decodeBase64(env.payload, `${source} dsseEnvelope.payload`);
  const sigs = env.signatures;
  if (!Array.isArray(sigs) || sigs.length === 0) {
    throw new VerificationError(`${source} has no DSSE signatures; expected exactly one`);
  }
  if (sigs.length !== 1) {
    throw new VerificationError(`${source} has ${sigs.length} DSSE signatures; OMS bundles carry exactly one`);
  }
  const sig0 = sigs[0];
  if (!isJsonObject(sig0)) {
    throw new VerificationError(`${source} DSSE signature is not an object; expected {"sig": "<base64>"}`);
  }
  // DSSE keyid is advisory and OMS does not use it: "", null and absent are all valid.
  if (sig0.keyid !== undefined && sig0.keyid !== null && typeof sig0.keyid !== 'string') {
    throw new VerificationError(`${source} DSSE signature keyid is ${JSON.stringify(sig0.keyid)}; expected a string, null or absent`);
  }
  const signature = decodeBase64(sig0.sig, `${source} DSSE signature`);
  const timestamps = parseTimestamps((doc.verificationMaterial as Record<string, unknown>).timestampVerificationData, source);
  return { json: doc, material, payloadType: IN_TOTO_PAYLOAD_TYPE, payload, signature, timestamps };
}

/** `timestampVerificationData` (optional): `{rfc3161Timestamps: [{signedTimestamp: <base64 DER>}]}`. */
function parseTimestamps(value: unknown, source: string): Buffer[] {
  if (value === undefined || value === null) {
    return [];
  }
  const what = `${source} verificationMaterial.timestampVerificationData`;
  if (!isJsonObject(value)) {
    throw new VerificationError(`${what} is not an object; expected {"rfc3161Timestamps": [{"signedTimestamp": "<base64>"}]}`);
  }
  const list = value.rfc3161Timestamps;
  if (list === undefined || list === null) {
    return [];
  }
  if (!Array.isArray(list)) {
    throw new VerificationError(`${what}.rfc3161Timestamps is not an array`);
  }
  if (list.length > MAX_TIMESTAMPS) {
    throw new VerificationError(`${what}.rfc3161Timestamps holds ${list.length} timestamps; at most ${MAX_TIMESTAMPS} are accepted`);
  }
  return list.map((t, i) => decodeBase64(isJsonObject(t) ? t.signedTimestamp : undefined, `${what}.rfc3161Timestamps[${i}].signedTimestamp`));
}

function parseMaterial(vm: unknown, source: string): BundleKeyMaterial {
  if (!isJsonObject(vm)) {
    throw new VerificationError(
      `${source} has no verificationMaterial; expected publicKey, x509CertificateChain or certificate`);
  }
  // The Sigstore bundle's verificationMaterial.content is a oneof: two kinds at once would let two verifiers pick
  // different keys for the same bundle.
  const kinds = (['publicKey', 'x509CertificateChain', 'certificate'] as const).filter((k) => vm[k] !== undefined);
  if (kinds.length > 1) {
    throw new VerificationError(
      `${source} verificationMaterial has ${kinds.join(' and ')}; a bundle carries exactly one of publicKey, x509CertificateChain or certificate`);
  }
  if (vm.publicKey !== undefined) {
    const pk = vm.publicKey;
    if (!isJsonObject(pk)) {
      throw new VerificationError(`${source} verificationMaterial.publicKey is not an object`);
    }
    const hint = pk.hint;
    if (hint !== undefined && hint !== null && !isHexDigest(hint)) {
      throw new VerificationError(
        `${source} verificationMaterial.publicKey.hint is ${JSON.stringify(hint)}; expected 64 lower-case hex characters`);
    }
    let rawKey: KeyObject | undefined;
    if (pk.rawBytes !== undefined) {
      const raw = decodeBase64(pk.rawBytes, `${source} verificationMaterial.publicKey.rawBytes`);
      try {
        rawKey = loadPublicKey(raw, `${source} verificationMaterial.publicKey.rawBytes`);
      } catch (e) {
        throw new VerificationError((e as Error).message);
      }
    }
    if (!hint && !rawKey) {
      throw new VerificationError(`${source} verificationMaterial.publicKey has neither hint nor rawBytes`);
    }
    if (pk.keyDetails !== undefined && typeof pk.keyDetails !== 'string') {
      throw new VerificationError(`${source} verificationMaterial.publicKey.keyDetails is not a string`);
    }
    return {
      kind: 'publicKey',
      ...(hint ? { hint: hint as string } : {}),
      ...(rawKey ? { rawKey } : {}),
      ...(typeof pk.keyDetails === 'string' ? { keyDetails: pk.keyDetails } : {}),
    };
  }
  if (vm.x509CertificateChain !== undefined) {
    const chain = vm.x509CertificateChain;
    const certs = isJsonObject(chain) ? chain.certificates : undefined;
    if (!Array.isArray(certs) || certs.length === 0) {
      throw new VerificationError(`${source} verificationMaterial.x509CertificateChain has no certificates`);
    }
    return {
      kind: 'x509CertificateChain',
      certificates: certs.map((c, i) =>
        decodeBase64(isJsonObject(c) ? c.rawBytes : undefined, `${source} x509CertificateChain.certificates[${i}].rawBytes`)),
    };
  }
  if (vm.certificate !== undefined) {
    const cert = vm.certificate;
    const der = decodeBase64(isJsonObject(cert) ? cert.rawBytes : undefined, `${source} verificationMaterial.certificate.rawBytes`);
    const tlog = vm.tlogEntries;
    if (!Array.isArray(tlog) || tlog.length === 0) {
      throw new VerificationError(
        `${source} is a Sigstore keyless bundle (verificationMaterial.certificate) with no tlogEntries; keyless bundles need at least one transparency log entry`);
    }
    return { kind: 'certificate', certificate: der, tlogEntries: tlog.length };
  }
  throw new VerificationError(
    `${source} verificationMaterial has none of publicKey, x509CertificateChain or certificate`);
}

/** A bytes field of the bundle: standard base64 with padding (codec/base64.ts), and never empty. */
function decodeBase64(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || value.length === 0) {
    throw new VerificationError(`${what} is ${value === undefined ? 'missing' : JSON.stringify(value)}; expected non-empty base64`);
  }
  return decodeBase64Field(value, what, 'base64');
}
