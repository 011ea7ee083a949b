/**
 * The rule for the key prefix of an attestation store inside its bucket (`s3://bucket/<prefix>`), shared by the
 * `AttestationStore` construct (its grants are scoped to the prefix) and anything that names a store by URI.
 *
 * Dependency-free on purpose: the construct library imports it.
 */
import { REF_SEGMENT } from './model-name';

/** Longest store prefix, trailing `/` included. */
export const MAX_STORE_PREFIX_LENGTH = 200;

/**
 * What is wrong with a store prefix, or undefined when it is valid.
 *
 * A prefix is empty (the bucket root) or 1–200 characters of `/`-separated parts of `A-Z a-z 0-9 . _ -`, each part
 * starting with a letter or digit, ending with `/` (so no `..`, no hidden or empty parts, no leading `/`). The runtime
 * stores accept every prefix this rule accepts.
 */
export function storePrefixProblem(prefix: string): string | undefined {
  if (prefix === '') return undefined;
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return prefix.length > MAX_STORE_PREFIX_LENGTH ? `is ${prefix.length} characters, over the ${MAX_STORE_PREFIX_LENGTH}-character limit`
    : !prefix.endsWith('/') ? 'does not end with "/"'
      : prefix.startsWith('/') ? 'starts with "/"'
        : body.split('/').some((s) => !REF_SEGMENT.test(s))
          ? 'has a part that is empty, does not start with a letter or digit, or uses a character outside A-Z a-z 0-9 . _ -'
          : undefined;
}

/** The sentence that says what a valid store prefix is. */
export const STORE_PREFIX_RULE = `a prefix is '' or up to ${MAX_STORE_PREFIX_LENGTH} characters of /-separated parts of A-Z a-z 0-9 . _ -, ` +
  'each starting with a letter or digit, ending with "/" (e.g. "team-a/")';
