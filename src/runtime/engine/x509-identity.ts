/**
 * Who a certificate names: its subject alternative names parsed from the DER (RFC 5280 §4.2.1.6), the Fulcio OIDC
 * issuer extension of Sigstore certificates, and the exact matching trust policies and `verify sigstore` use.
 *
 * Matching is on parsed values, never on a text dump: node's `X509Certificate.subjectAltName` prints
 * `email:a, URI:b` and escapes only some characters, so a SAN holding `", email:x"` could read as two names.
 *
 * @see https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md (1.3.6.1.4.1.57264.1.1 and .1.8: OIDC issuer)
 */
import type { X509Certificate } from 'crypto';
import { asn1js, certificateName, pkijs, toPkijs } from './x509-path';
import { VerificationError } from '../codec/errors';

/** Kinds of subject alternative names (GeneralName choices, RFC 5280 §4.2.1.6) ModelSeal reads. */
export type SanType = 'email' | 'dns' | 'uri' | 'ip' | 'otherName';

/** One parsed subject alternative name. */
export interface SubjectAltName {
  readonly type: SanType;
  /** The value: an address, host name, URI, IP address text, or an otherName's string value. */
  readonly value: string;
  /** For `otherName`: its type-id OID (Fulcio writes usernames as 1.3.6.1.4.1.57264.1.7). */
  readonly oid?: string;
}

/** Fulcio's OIDC issuer extension: v2 (DER UTF8String) and the deprecated v1 (raw bytes). */
export const FULCIO_ISSUER_V2_OID = '1.3.6.1.4.1.57264.1.8';
export const FULCIO_ISSUER_V1_OID = '1.3.6.1.4.1.57264.1.1';

const SAN_OID = '2.5.29.17';

/**
 * The subject alternative names of a certificate, in certificate order (empty without the extension). Names of
 * other kinds (directoryName, x400Address, ediPartyName, registeredID) are left out: no identity rule reads them.
 *
 * @throws VerificationError when the extension cannot be parsed
 */
export function subjectAltNames(cert: X509Certificate): SubjectAltName[] {
  const ext = (toPkijs(cert).extensions ?? []).find((e) => e.extnID === SAN_OID);
  if (!ext) {
    return [];
  }
  const alt = ext.parsedValue;
  if (!(alt instanceof pkijs().AltName)) {
    throw new VerificationError(`certificate ${certificateName(cert)} has a subjectAltName extension that cannot be parsed`);
  }
  const out: SubjectAltName[] = [];
  for (const name of alt.altNames) {
    switch (name.type) {
      case 1:
        out.push({ type: 'email', value: String(name.value) });
        break;
      case 2:
        out.push({ type: 'dns', value: String(name.value) });
        break;
      case 6:
        out.push({ type: 'uri', value: String(name.value) });
        break;
      case 7:
        out.push({ type: 'ip', value: ipText(Buffer.from((name.value as { valueBlock: { valueHexView: Uint8Array } }).valueBlock.valueHexView)) });
        break;
      case 0: {
        const other = otherName(name.value);
        if (other) {
          out.push({ type: 'otherName', ...other });
        }
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/** `OtherName ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY }` with a string value. */
function otherName(block: unknown): { oid: string; value: string } | undefined {
  const A = asn1js();
  const parts = (block as { valueBlock?: { value?: unknown[] } }).valueBlock?.value ?? [];
  const [id, wrapped] = parts;
  const inner = (wrapped as { valueBlock?: { value?: unknown[] } } | undefined)?.valueBlock?.value?.[0];
  if (!(id instanceof A.ObjectIdentifier) || !(inner instanceof A.Utf8String || inner instanceof A.IA5String || inner instanceof A.PrintableString)) {
    return undefined;
  }
  return { oid: id.valueBlock.toString(), value: inner.valueBlock.value };
}

function ipText(bytes: Buffer): string {
  if (bytes.length === 4) {
    return [...bytes].join('.');
  }
  if (bytes.length === 16) {
    return Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16)).join(':');
  }
  return bytes.toString('hex');
}

/**
 * The OIDC issuer a Fulcio certificate records: extension 1.3.6.1.4.1.57264.1.8 (a DER UTF8String), else the
 * deprecated 1.3.6.1.4.1.57264.1.1 (the raw issuer bytes); undefined when neither is present.
 */
export function fulcioIssuer(cert: X509Certificate): string | undefined {
  const exts = toPkijs(cert).extensions ?? [];
  const v2 = exts.find((e) => e.extnID === FULCIO_ISSUER_V2_OID);
  if (v2) {
    const A = asn1js();
    const parsed = A.fromBER(v2.extnValue.valueBlock.valueHexView);
    if (parsed.offset === -1 || !(parsed.result instanceof A.Utf8String)) {
      throw new VerificationError(`certificate ${certificateName(cert)} has an OIDC issuer extension (${FULCIO_ISSUER_V2_OID}) that is not a UTF8String`);
    }
    return parsed.result.valueBlock.value;
  }
  const v1 = exts.find((e) => e.extnID === FULCIO_ISSUER_V1_OID);
  return v1 ? Buffer.from(v1.extnValue.valueBlock.valueHexView).toString('utf8') : undefined;
}

/**
 * An identity to require of a certificate: one exact value, or a regular expression that must match a whole value.
 * Exactly one of the two is set.
 */
export interface IdentityRule {
  /** The value a subject alternative name must equal, character for character. */
  readonly exact?: string;
  /** A JavaScript regular expression (source text); it must match an entire value (it is anchored as `^(?:…)$`). */
  readonly regex?: string;
}

/**
 * Compiles an identity regular expression anchored at both ends.
 *
 * @throws Error (the caller's kind) when the text is not a valid regular expression
 */
export function anchoredRegExp(source: string): RegExp {
  return new RegExp(`^(?:${source})$`, 'u');
}

/** Whether a value satisfies an identity rule. */
export function matchesIdentity(value: string, rule: IdentityRule): boolean {
  if (rule.exact !== undefined) {
    return value === rule.exact;
  }
  return rule.regex !== undefined && anchoredRegExp(rule.regex).test(value);
}

/** How a rule reads in messages: `"a@b.c"` or `/regex/ (whole value)`. */
export function describeIdentityRule(rule: IdentityRule): string {
  return rule.exact !== undefined ? JSON.stringify(rule.exact) : `/${rule.regex}/ (matching a whole value)`;
}

/** A list of SANs as messages print it: `email "a@b.c", URI "https://…"`. */
export function describeSubjectAltNames(sans: readonly SubjectAltName[]): string {
  const label: Record<SanType, string> = { email: 'email', dns: 'DNS', uri: 'URI', ip: 'IP', otherName: 'otherName' };
  return sans.length === 0 ? 'no subject alternative names' : sans.map((s) => `${label[s.type]} ${JSON.stringify(s.value)}`).join(', ');
}
