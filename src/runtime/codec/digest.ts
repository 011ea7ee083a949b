/**
 * The one parser of OMS root digests, and the one way ModelSeal prints them.
 *
 * A root digest is the SHA-256 the OMS statement's subject carries: 64 lower-case hex characters. ModelSeal prints it
 * as `sha256:<hex>` everywhere (text and `--json` output) and reads `sha256:<hex>` or the bare `<hex>`. Upper-case
 * hex, other algorithms and surrounding whitespace are refused: the digest is also a store path segment, so one
 * digest has one spelling.
 */
import { ErrorClass, UsageError } from './errors';

const HEX64 = /^[0-9a-f]{64}$/;

/** The prefix of a printed root digest. */
export const DIGEST_PREFIX = 'sha256:';

/**
 * Parses a root digest written as `sha256:<hex>` or `<hex>` and returns the hex.
 *
 * @param what names the value in errors, e.g. `root digest` or `--digest`
 * @param err the error to raise (default {@link UsageError}: digests come from arguments and files a user wrote)
 * @throws `err`: `<what> "<value>" is not valid; expected sha256: followed by 64 lower-case hex characters (the
 *   OMS root digest, as modelseal digest prints it)`
 */
export function parseRootDigest(value: unknown, what = 'root digest', err: ErrorClass = UsageError): string {
  const text = typeof value === 'string' ? value : '';
  const hex = text.startsWith(DIGEST_PREFIX) ? text.slice(DIGEST_PREFIX.length) : text;
  if (!HEX64.test(hex)) {
    throw new err(`${what} ${JSON.stringify(value)} is not valid; expected sha256: followed by 64 lower-case hex characters (the OMS root digest, as modelseal digest prints it)`);
  }
  return hex;
}

/** Whether `value` is a bare root digest: 64 lower-case hex characters. */
export function isHexDigest(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}

/** `sha256:<hex>`: how every command prints a root digest. */
export function formatRootDigest(hex: string): string {
  return `${DIGEST_PREFIX}${hex}`;
}

/**
 * The hex of a digest written exactly `sha256:<hex>` (a ref body, a Notary descriptor digest: formats where the
 * prefix is part of the value), or undefined for anything else.
 */
export function hexOfPrefixedDigest(value: unknown): string | undefined {
  return typeof value === 'string' && value.startsWith(DIGEST_PREFIX) && isHexDigest(value.slice(DIGEST_PREFIX.length))
    ? value.slice(DIGEST_PREFIX.length) : undefined;
}
