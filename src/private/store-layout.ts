import * as s3 from 'aws-cdk-lib/aws-s3';
import { STORE_PREFIXES } from '../shared/store-layout';

/** The key prefixes of the attestation store (docs/STORE.md; one definition in src/shared/store-layout.ts). */
export { STORE_PREFIXES };

/**
 * The object ARNs of store folders under a store prefix (`<bucket>/<prefix>bundles/*`, ...): what grants cover and
 * what a construct acknowledges as a wildcard resource.
 *
 * @param prefix the store's key prefix (`''` or ending with `/`)
 * @param folders the layout folders (each ending with `/`)
 */
export function storeObjectArns(bucket: s3.IBucket, prefix = '', folders: readonly string[] = STORE_PREFIXES): string[] {
  return folders.map((p) => bucket.arnForObjects(`${prefix}${p}*`));
}
