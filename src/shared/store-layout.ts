/**
 * The attestation store's key layout, shared by the `AttestationStore` construct (its grants and bucket policy name
 * the prefixes) and the runtime stores (which build and parse the keys). One definition, so a key the CLI writes is
 * always one the construct's policies cover.
 *
 * Dependency-free on purpose: the construct library (compiled by jsii) imports it, and nothing here may pull runtime
 * code into the npm package's `lib/`.
 *
 * | what | key |
 * |---|---|
 * | OMS model signature bundle | `bundles/sha256/<root>/<signer>/<obj>.sig.json` |
 * | other attestations | `attestations/sha256/<root>/<predicate-slug>/<signer>/<obj>.json` |
 * | AWS Signer (Notation JWS) co-signature | `notation/sha256/<root>/<obj>.jws` |
 * | revocation record | `revocations/sha256/<root>/<signer>/<obj>.json` |
 * | name → digest reference | `refs/<model-name>/<version>` (body `sha256:<root>`) |
 *
 * `<root>` is the OMS root digest, `<signer>` the OMS key hint of the signer (hex SHA-256 of its SPKI PEM public
 * key), `<obj>` the SHA-256 of the object's own bytes; all three 64 lower-case hex characters. See docs/STORE.md.
 */

/** The top-level folder of each kind of object. */
export const STORE_FOLDERS = {
  bundles: 'bundles/',
  attestations: 'attestations/',
  notation: 'notation/',
  revocations: 'revocations/',
  refs: 'refs/',
} as const;

/** The key prefixes of the attestation store, in the order the layout table lists them. */
export const STORE_PREFIXES: readonly string[] = Object.values(STORE_FOLDERS);

/**
 * Who may write where: three separate write authorities, so that the build runner (which publishes its model's
 * evidence and names its versions) can never revoke, and a publisher can never re-point another model's names.
 *
 * - publish: model signature bundles, attestations and Notation co-signatures;
 * - revoke: revocation records (only the parties a trust policy lists as revokers need it);
 * - set-ref: `refs/<model-name>/` of one model name ({@link refFolder}).
 *
 * Every object stays write-once whoever writes it; these only decide which prefixes a principal can write at all.
 */
export const WRITE_AUTHORITIES = {
  publish: [STORE_FOLDERS.bundles, STORE_FOLDERS.attestations, STORE_FOLDERS.notation],
  revoke: [STORE_FOLDERS.revocations],
} as const;

/**
 * `refs/<modelName>/`: the folder of one model name's versions, what a set-ref grant for that name covers. The name is
 * checked by the caller (model-name.ts).
 *
 * A version never contains `/`, so the refs of this name are exactly the keys `refs/<modelName>/<one part>`. Model
 * names may contain `/`, so the folder also holds the refs of longer names (`refs/team/llm/1` is name `team/llm`,
 * under `refs/team/`): a grant for one name must cover the keys `refs/<modelName>/<version>` and not the deeper keys
 * `refs/<modelName>/<part>/<version>` of other names ({@link isRefOfModel} says which keys belong to the name).
 */
export function refFolder(modelName: string): string {
  return `${STORE_FOLDERS.refs}${modelName}/`;
}

/** Whether `key` is a ref of exactly `modelName` (`refs/<modelName>/<version>`, the version without `/`). */
export function isRefOfModel(key: string, modelName: string): boolean {
  const folder = refFolder(modelName);
  return key.startsWith(folder) && key.length > folder.length && !key.slice(folder.length).includes('/');
}

/** `bundles/sha256/<root>/<signer>/<obj>.sig.json`: an OMS model signature bundle. */
export function bundleKey(root: string, signer: string, obj: string): string {
  return `${STORE_FOLDERS.bundles}sha256/${root}/${signer}/${obj}.sig.json`;
}

/** `attestations/sha256/<root>/<slug>/<signer>/<obj>.json`: any other attestation (SBOM, provenance, ...). */
export function attestationKey(root: string, slug: string, signer: string, obj: string): string {
  return `${STORE_FOLDERS.attestations}sha256/${root}/${slug}/${signer}/${obj}.json`;
}

/** `notation/sha256/<root>/<obj>.jws`: an AWS Signer (Notation JWS) co-signature. */
export function notationKey(root: string, obj: string): string {
  return `${STORE_FOLDERS.notation}sha256/${root}/${obj}.jws`;
}

/** `revocations/sha256/<root>/<signer>/<obj>.json`: a revocation record. */
export function revocationKey(root: string, signer: string, obj: string): string {
  return `${STORE_FOLDERS.revocations}sha256/${root}/${signer}/${obj}.json`;
}

/** `refs/<name>/<version>`: a name → digest reference (the caller checks name and version). */
export function refKeyOf(name: string, version: string): string {
  return `${refFolder(name)}${version}`;
}

/** The four folders that hold objects about `root` (hex), each ending with `/`. */
export function rootFolders(root: string): Record<'bundles' | 'attestations' | 'notation' | 'revocations', string> {
  return {
    bundles: `${STORE_FOLDERS.bundles}sha256/${root}/`,
    attestations: `${STORE_FOLDERS.attestations}sha256/${root}/`,
    notation: `${STORE_FOLDERS.notation}sha256/${root}/`,
    revocations: `${STORE_FOLDERS.revocations}sha256/${root}/`,
  };
}

const H = '([0-9a-f]{64})';

/**
 * The content-addressed key patterns, one per kind; their groups are, in order: root, [slug,] [signer,] obj.
 * Refs are not content-addressed and match none of them.
 */
export const CONTENT_KEY_PATTERNS = {
  bundle: new RegExp(`^${STORE_FOLDERS.bundles}sha256/${H}/${H}/${H}\\.sig\\.json$`),
  attestation: new RegExp(`^${STORE_FOLDERS.attestations}sha256/${H}/([a-z0-9][a-z0-9-]*)/${H}/${H}\\.json$`),
  notation: new RegExp(`^${STORE_FOLDERS.notation}sha256/${H}/${H}\\.jws$`),
  revocation: new RegExp(`^${STORE_FOLDERS.revocations}sha256/${H}/${H}/${H}\\.json$`),
} as const;
