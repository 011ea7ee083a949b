import * as s3 from 'aws-cdk-lib/aws-s3';
import { STORE_PREFIXES } from '../shared/store-layout';

/** The key prefixes of the attestation store (docs/STORE.md; one definition in src/shared/store-layout.ts). */
export { STORE_PREFIXES };

/** The object ARNs of every store prefix (`<bucket>/bundles/*`, ...): what publish and read grants cover. */
export function storeObjectArns(bucket: s3.IBucket): string[] {
  return STORE_PREFIXES.map((p) => bucket.arnForObjects(`${p}*`));
}
