import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { tagRole } from './role-tag';

/**
 * What every bucket the constructs create has: Block Public Access, TLS 1.2 or newer only (`enforceSSL` denies plain
 * HTTP), versioning, and bucket-owner-enforced ownership (no ACLs).
 */
export const HARDENED_BUCKET: Pick<s3.BucketProps, 'blockPublicAccess' | 'enforceSSL' | 'minimumTLSVersion' | 'versioned' | 'objectOwnership'> = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  versioned: true,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
};

/**
 * A server-access-log bucket for one of the constructs' buckets: SSE-S3 (S3 server access logging delivers to nothing
 * else), versioned, Block Public Access, TLS 1.2+ only, bucket-owner-enforced, expiring after `retentionDays`; tagged
 * `access-logs`, with the cdk-nag findings that cannot apply to a log target acknowledged on it.
 *
 * @param what the bucket whose logs it receives, for the acknowledgement reasons (e.g. "the attestation store")
 */
export function createAccessLogsBucket(scope: Construct, id: string, what: string, retentionDays: number, removalPolicy: RemovalPolicy): s3.Bucket {
  const logs = new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.S3_MANAGED,
    ...HARDENED_BUCKET,
    removalPolicy,
    lifecycleRules: [{
      id: 'ExpireAccessLogs',
      expiration: Duration.days(retentionDays),
      noncurrentVersionExpiration: Duration.days(1),
      abortIncompleteMultipartUploadAfter: Duration.days(1),
    }],
  });
  const logger = `This is the server access log target of ${what}; logging it again would only log the logger.`;
  Validations.of(logs).acknowledge(
    { id: 'AwsSolutions-S1', reason: logger },
    { id: 'NIST.800.53.R5-S3BucketLoggingEnabled', reason: logger },
    { id: 'NIST.800.53.R5-S3DefaultEncryptionKMS', reason: 'S3 server access logging delivers only to SSE-S3 buckets; SSE-KMS is not supported on the target bucket.' },
    { id: 'NIST.800.53.R5-S3BucketReplicationEnabled', reason: 'Access logs are operational data kept for a limited period; cross-region replication is a deployment choice, not a library default.' },
  );
  tagRole(logs, 'access-logs');
  return logs;
}

/**
 * Sends `bucket`'s server access logs to `logs` under `prefix`, with a bucket policy statement for the logging service
 * limited to that source bucket and account.
 *
 * Wired by hand rather than through `serverAccessLogsBucket`: without the `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`
 * feature flag that prop falls back to ACLs, which bucket-owner-enforced ownership disables.
 */
export function deliverAccessLogs(bucket: s3.Bucket, logs: s3.Bucket, prefix: string): void {
  (bucket.node.defaultChild as s3.CfnBucket).loggingConfiguration = { destinationBucketName: logs.bucketName, logFilePrefix: prefix };
  logs.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'AllowServerAccessLogDelivery',
    principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
    actions: ['s3:PutObject'],
    resources: [logs.arnForObjects(`${prefix}*`)],
    conditions: {
      ArnLike: { 'aws:SourceArn': bucket.bucketArn },
      StringEquals: { 'aws:SourceAccount': Stack.of(bucket).account },
    },
  }));
}
