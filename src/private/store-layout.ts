import * as s3 from 'aws-cdk-lib/aws-s3';

/** The key prefixes of the attestation store (docs/STORE.md; identical in the `modelseal` local store). */
export const STORE_PREFIXES: readonly string[] = ['bundles/', 'attestations/', 'notation/', 'revocations/', 'refs/'];

/** The object ARNs of every store prefix (`<bucket>/bundles/*`, ...): what publish and read grants cover. */
export function storeObjectArns(bucket: s3.IBucket): string[] {
  return STORE_PREFIXES.map((p) => bucket.arnForObjects(`${p}*`));
}
