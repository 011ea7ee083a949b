import { Tags } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * The tag every bucket, KMS key and CodeBuild project ModelSeal creates carries, with its role as the value
 * (`attestation-store`, `access-logs`, `signing-key`, `store-key`, `runner-key`, `train`, ...): reviewers, cost
 * reports and outside checks find resources by it, not by guessing from properties.
 */
export const ROLE_TAG = 'modelseal:role';

/** Tags `resource` (and the taggable resources under it) with its ModelSeal role. */
export function tagRole(resource: IConstruct, role: string): void {
  Tags.of(resource).add(ROLE_TAG, role);
}
