/**
 * An RFC 3161 time-stamp protocol client over HTTP(S) (RFC 3161 §3.4), and a signer wrapper that timestamps every
 * signature it makes: what `sign … --timestamp-url URL` (and `attest`, `revoke`, co-signing) use.
 *
 * The request's message imprint is SHA-256 over the raw DSSE signature bytes (what Sigstore verifiers check), with a
 * random nonce and `certReq` set, so the token carries the TSA certificate. The answer is checked before it goes into
 * a bundle: HTTP 200 with `application/timestamp-reply`, status granted, the nonce and the imprint echoed, the CMS
 * signature valid, the TSA certificate a timestamping certificate valid at `genTime`, and `genTime` not in the
 * future; with trusted TSA certificates, also the TSA's chain to them. Any failure fails the signing: no bundle is
 * written without the timestamp that was asked for.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3161#section-3.4
 */
import { createHash, KeyObject, randomBytes, X509Certificate } from 'crypto';
import { UsageError } from '../codec/errors';
import type { Signer, VerificationMaterial } from '../engine/signer';
import { parseTimestampResponse, SHA256_OID, verifyTimestamp } from '../engine/timestamp';
import { asn1js, pkijs, toArrayBuffer } from '../engine/x509-path';

/** How long one timestamp request may take, request and response included. */
export const DEFAULT_TSA_TIMEOUT_MS = 10_000;
/** Largest response accepted: a token with a few certificates is a few KiB. */
export const MAX_TSA_RESPONSE_BYTES = 1024 * 1024;

/** Options of {@link requestTimestamp}. */
export interface TimestampRequestOptions {
  /** Give up after this many milliseconds. @default 10000 */
  readonly timeoutMs?: number;
  /**
   * Trusted TSA certificates (roots, or the TSA certificate itself): when given, the answer must chain to one of
   * them, as a verifier holding them will require.
   *
   * @default - the token is checked against the certificate it embeds (signature, purpose, validity), not a chain
   */
  readonly trustedAuthorities?: readonly X509Certificate[];
  /** The clock genTime is compared with. @default - the current time */
  readonly now?: Date;
}

/**
 * Asks the TSA at `url` for a timestamp over `signature` and returns the DER `TimeStampResp` once it checks out.
 *
 * @throws UsageError naming the TSA and what went wrong (unreachable, HTTP error, refused, a token that does not verify)
 */
export async function requestTimestamp(url: string, signature: Buffer, opts: TimestampRequestOptions = {}): Promise<Buffer> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new UsageError(`--timestamp-url ${JSON.stringify(url)} is not a URL; expected http(s)://host/path of an RFC 3161 timestamp authority`);
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new UsageError(`--timestamp-url ${JSON.stringify(url)} uses ${target.protocol}; an RFC 3161 timestamp authority is reached over http: or https:`);
  }
  const fail = (why: string): never => {
    throw new UsageError(`timestamp authority ${url}: ${why}; no bundle was written`);
  };
  const P = pkijs();
  const A = asn1js();
  const imprint = createHash('sha256').update(signature).digest();
  const nonce = randomBytes(8);
  nonce[0] = 0x40 | (nonce[0] & 0x3f); // positive, and minimally encoded (no leading zero byte)
  const request = new P.TimeStampReq({
    version: 1,
    messageImprint: new P.MessageImprint({
      hashAlgorithm: new P.AlgorithmIdentifier({ algorithmId: SHA256_OID }),
      hashedMessage: new A.OctetString({ valueHex: toArrayBuffer(imprint) }),
    }),
    nonce: new A.Integer({ valueHex: toArrayBuffer(nonce) }),
    certReq: true,
  });
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query', 'accept': 'application/timestamp-reply' },
      body: Buffer.from(request.toSchema().toBER()),
      signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TSA_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (e) {
    const err = e as Error & { cause?: { message?: string } };
    return fail(`request failed: ${err.name === 'TimeoutError' ? `no answer within ${opts.timeoutMs ?? DEFAULT_TSA_TIMEOUT_MS} ms` : (err.cause?.message ?? err.message)}`);
  }
  if (response.status !== 200) {
    const text = (await response.text().catch(() => '')).slice(0, 200).trim();
    return fail(`answered HTTP ${response.status}${text ? ` (${text})` : ''}`);
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/timestamp-reply') {
    return fail(`answered content type ${JSON.stringify(type)}; expected "application/timestamp-reply"`);
  }
  const der = Buffer.from(await response.arrayBuffer());
  if (der.length > MAX_TSA_RESPONSE_BYTES) {
    return fail(`answered ${der.length} bytes, more than the ${MAX_TSA_RESPONSE_BYTES} a timestamp response can need`);
  }
  let parsed;
  try {
    parsed = parseTimestampResponse(der, 'the response');
  } catch (e) {
    return fail((e as Error).message);
  }
  const tst = parsed.tstInfo;
  if (!tst.nonce || !Buffer.from(tst.nonce.valueBlock.valueHexView).equals(nonce)) {
    return fail('the response does not echo the request\'s nonce (a replayed or misrouted answer)');
  }
  const echoed = Buffer.from(tst.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (tst.messageImprint.hashAlgorithm.algorithmId !== SHA256_OID || !echoed.equals(imprint)) {
    return fail('the response timestamps another message imprint than the one requested');
  }
  const anchors = opts.trustedAuthorities && opts.trustedAuthorities.length > 0 ? opts.trustedAuthorities : parsed.certificates;
  if (anchors.length === 0) {
    return fail('the response carries no TSA certificate although the request asked for it (certReq)');
  }
  try {
    await verifyTimestamp(der, signature, anchors, 'the response', opts.now);
  } catch (e) {
    return fail((e as Error).message);
  }
  return der;
}

/**
 * A signer that asks a TSA for an RFC 3161 timestamp over every signature it makes; everything else is the wrapped
 * signer's.
 */
export class TimestampingSigner implements Signer {
  /**
   * @param signer the signer whose signatures are timestamped
   * @param url the TSA's URL (`--timestamp-url`)
   */
  public constructor(private readonly signer: Signer, public readonly url: string, private readonly opts: TimestampRequestOptions = {}) {}

  /** The wrapped signer's public key. */
  public publicKey(): Promise<KeyObject> {
    return this.signer.publicKey();
  }

  /** The wrapped signer's verification material. */
  public verificationMaterial(): Promise<VerificationMaterial> {
    return this.signer.verificationMaterial();
  }

  /** Signs with the wrapped signer. */
  public sign(message: Buffer): Promise<Buffer> {
    return this.signer.sign(message);
  }

  /** An RFC 3161 timestamp over `signature` from the TSA at {@link url}. */
  public timestamp(signature: Buffer): Promise<Buffer> {
    return requestTimestamp(this.url, signature, this.opts);
  }

  /** Closes the wrapped signer. */
  public async close(): Promise<void> {
    await this.signer.close?.();
  }
}
