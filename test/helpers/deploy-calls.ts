/**
 * The deploy-call table: every API call CloudFormation's resource handlers make, with the deploying role's
 * credentials, on the resources ModelSeal creates under a restrictive resource policy, and every call AWS services
 * make on the user's behalf once the stack runs. Each becomes a simulator row ({@link SimRow}) evaluated as the role
 * that makes it; docs/DEPLOYMENT.md's table is generated from the results (scripts/deployment-doc.ts).
 *
 * Sources of the call lists (handler `permissions` of the CloudFormation registry schemas, and the handlers' code):
 * - AWS::KMS::Key: registry schema `handlers` (create: CreateKey, EnableKeyRotation, DisableKey, TagResource,
 *   PutKeyPolicy; read: DescribeKey, GetKeyPolicy, GetKeyRotationStatus, ListResourceTags; update: DescribeKey,
 *   DisableKey, DisableKeyRotation, EnableKey, EnableKeyRotation, PutKeyPolicy, TagResource, UntagResource,
 *   UpdateKeyDescription, ListResourceTags; delete: DescribeKey, ScheduleKeyDeletion), and
 *   aws-cloudformation/aws-cloudformation-resource-providers-kms `key/src/main/java/software/amazon/kms/key/
 *   CreateHandler.java` (CreateKey, then EnableKeyRotation when `EnableKeyRotation` is true, then the read handler),
 *   `UpdateHandler.java`, `DeleteHandler.java`, `common/.../KeyHandlerHelper.java`. CreateKey with a key policy runs
 *   KMS's lockout safety check: the new policy must allow the caller `kms:PutKeyPolicy`
 *   (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#prevent-unmanageable-key).
 *   Tags passed to CreateKey need `kms:TagResource` in an IAM policy
 *   (https://docs.aws.amazon.com/kms/latest/developerguide/tag-permissions.html).
 * - AWS::KMS::Alias: registry schema (create CreateAlias, read ListAliases, update UpdateAlias, delete DeleteAlias);
 *   alias operations need permission on the alias (IAM) and on the key (key policy)
 *   (https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html).
 * - AWS::S3::Bucket: registry schema `handlers` (create: CreateBucket and the Put* of each configuration set;
 *   update: the Put* of each configuration that changed; delete: DeleteBucket, ListBucket). CreateBucket with Object
 *   Lock needs s3:PutBucketObjectLockConfiguration and s3:PutBucketVersioning
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html). The S3 handler's source is not public;
 *   which Put* calls an update makes follows the properties that changed.
 * - AWS::S3::BucketPolicy: registry schema (create/update: GetBucketPolicy, PutBucketPolicy; delete: GetBucketPolicy,
 *   DeleteBucketPolicy).
 * - AWS::EC2::VPCEndpoint: registry schema (create: CreateVpcEndpoint, DescribeVpcEndpoints, CreateTags; update:
 *   ModifyVpcEndpoint; delete: DeleteVpcEndpoints).
 * - AWS::CodeBuild::Project: CodeBuild permissions reference (CreateProject, UpdateProject, DeleteProject,
 *   BatchGetProjects, and iam:PassRole of the service role,
 *   https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-permissions-reference.html);
 *   with a VPC, CodeBuild checks the service role's EC2 permissions when the project is created or updated
 *   (https://docs.aws.amazon.com/codebuild/latest/userguide/vpc-support.html).
 * - AWS::IAM::Role / AWS::IAM::Policy: registry schemas (CreateRole, GetRole, UpdateAssumeRolePolicy, DeleteRole;
 *   PutRolePolicy, GetRolePolicy, DeleteRolePolicy).
 * - AWS::ECR::Repository with a KMS key: ECR creates a grant on the key with the caller's credentials
 *   (kms:CreateGrant, kms:DescribeKey through ECR,
 *   https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html).
 * - AWS::Logs::LogGroup with a KMS key: CloudWatch Logs uses the key as `logs.<region>.amazonaws.com` with the
 *   encryption context `aws:logs:arn`
 *   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
 * Calls services make on the user's behalf:
 * - CodeBuild assumes the service role (trust policy), creates network interfaces in the VPC
 *   (ec2:CreateNetworkInterfacePermission with ec2:Subnet and ec2:AuthorizedService), downloads the S3 source and
 *   pulls a private ECR image with the service role through the VPC endpoints (ecr.api, ecr.dkr, S3 gateway for the
 *   layer bucket; https://docs.aws.amazon.com/codebuild/latest/userguide/use-vpc-endpoints-with-codebuild.html), and
 *   writes its logs (logs:CreateLogStream, logs:PutLogEvents).
 * - S3 uses the store key with bucket keys on the caller's behalf: kms:GenerateDataKey on upload and kms:Decrypt on
 *   read, with kms:ViaService s3 and the bucket ARN as encryption context
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html).
 * - S3 server access logging writes to the log bucket as `logging.s3.amazonaws.com`
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
 */
import { SimResult, SimRow, TemplateSimulator, ACCOUNT, PARTITION, REGION } from './iam-sim';

/** The markers around the generated table in docs/DEPLOYMENT.md. */
export const DOC_START = '<!-- deploy-calls:start (generated by scripts/deployment-doc.ts from test/helpers/deploy-calls.ts; do not edit) -->';
export const DOC_END = '<!-- deploy-calls:end -->';

/** When a call is made. */
export type Operation = 'create' | 'read' | 'update' | 'delete' | 'runtime';

/** One row of the deploy-call table. */
export interface DeployCallRow extends SimRow {
  /** The logical ID of the resource the call is about. */
  readonly resourceId: string;
  /** Its CloudFormation type. */
  readonly resourceType: string;
  readonly operation: Operation;
  /** Who makes the call, in words (e.g. `CloudFormation (deploy role)`, `CodeBuild (runner role)`). */
  readonly caller: string;
  /** Which of several resources the call is authorized on, in words (`on the key` for an alias call). */
  readonly target?: string;
  /** For rows expected to be denied: why the update can never be made. */
  readonly byDesign?: string;
}

/** The S3 Put* call for each bucket property the constructs set, and the Get* the read handler makes for it. */
const BUCKET_PROPERTY_CALLS: Record<string, { put: string[]; get: string }> = {
  BucketEncryption: { put: ['s3:PutEncryptionConfiguration'], get: 's3:GetEncryptionConfiguration' },
  PublicAccessBlockConfiguration: { put: ['s3:PutBucketPublicAccessBlock'], get: 's3:GetBucketPublicAccessBlock' },
  OwnershipControls: { put: ['s3:PutBucketOwnershipControls'], get: 's3:GetBucketOwnershipControls' },
  VersioningConfiguration: { put: ['s3:PutBucketVersioning'], get: 's3:GetBucketVersioning' },
  ObjectLockConfiguration: { put: ['s3:PutBucketObjectLockConfiguration'], get: 's3:GetBucketObjectLockConfiguration' },
  LoggingConfiguration: { put: ['s3:PutBucketLogging'], get: 's3:GetBucketLogging' },
  LifecycleConfiguration: { put: ['s3:PutLifecycleConfiguration'], get: 's3:GetLifecycleConfiguration' },
  Tags: { put: ['s3:PutBucketTagging'], get: 's3:GetBucketTagging' },
  NotificationConfiguration: { put: ['s3:PutBucketNotification'], get: 's3:GetBucketNotification' },
};

/** Why a build command cannot use the runner key itself (only S3 and CodeBuild use it, on the role's behalf). */
export const RUNNER_KEY_DIRECT_USE_REFUSED_BY_DESIGN =
  'a build uses the runner key only through S3 and CodeBuild (kms:ViaService), never by calling KMS itself';

/**
 * Updates that an attestation store refuses by design, to every principal including the deploying role: its bucket
 * policy denies them (`DenyDeletesAndLockChanges`). The reason goes into docs/DEPLOYMENT.md.
 */
export const STORE_UPDATES_IMPOSSIBLE_BY_DESIGN: Record<string, string> = {
  's3:PutBucketObjectLockConfiguration': 'retention mode and days (Object Lock default retention) are fixed once deployed',
  's3:PutBucketVersioning': 'versioning cannot be suspended (Object Lock needs it; suspending it would let overwrites hide versions)',
  's3:PutLifecycleConfiguration': 'no lifecycle rule can be added, changed or removed after creation (a rule could expire current versions behind delete markers)',
};

function tagOf(props: any, key: string): string | undefined {
  return (props.Tags ?? []).find((t: any) => t.Key === key)?.Value;
}

/** The `modelseal:role` tag of a resource, if any. */
export function roleTag(sim: TemplateSimulator, id: string): string | undefined {
  return tagOf(sim.props(id), 'modelseal:role');
}

/**
 * Builds the deploy-call rows for every resource of `sim` of the types above: CloudFormation's handler calls as the
 * deploying role, and the calls services make on the user's behalf as the role they use.
 */
export function deployCallRows(sim: TemplateSimulator): DeployCallRow[] {
  const deploy = sim.deployRole();
  const rows: DeployCallRow[] = [];
  const cfn = 'CloudFormation (deploy role)';
  const add = (r: Omit<DeployCallRow, 'name' | 'expect'> & { expect?: DeployCallRow['expect']; name?: string }) => {
    rows.push({ expect: 'Allowed', name: `${r.resourceId} ${r.operation} ${r.action} as ${r.principal.label}`, ...r });
  };

  // ---- KMS keys ----------------------------------------------------------------------------------------------------
  for (const id of sim.idsOfType('AWS::KMS::Key')) {
    const p = sim.props(id);
    const key = sim.arn(id);
    const on = (operation: Operation, action: string, extra: Partial<DeployCallRow> = {}) =>
      add({ resourceId: id, resourceType: 'AWS::KMS::Key', operation, caller: cfn, principal: deploy, action, resource: key, ...extra });
    // CreateKey acts on no key yet (IAM only); the tags it carries need kms:TagResource in the same IAM policy, which
    // the update rows evaluate against the key policy too
    on('create', 'kms:CreateKey', { resource: '*' });
    on('create', 'kms:PutKeyPolicy'); // the lockout safety check of CreateKey
    if (p.EnableKeyRotation) on('create', 'kms:EnableKeyRotation');
    if (p.Enabled === false) on('create', 'kms:DisableKey');
    for (const a of ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags']) on('read', a);
    for (const a of ['kms:DescribeKey', 'kms:PutKeyPolicy', 'kms:UpdateKeyDescription', 'kms:ListResourceTags', 'kms:TagResource',
      'kms:UntagResource', 'kms:EnableKey', 'kms:DisableKey']) on('update', a);
    // turning rotation on or off is a property update of a symmetric key; asymmetric keys cannot rotate
    if ((p.KeySpec ?? 'SYMMETRIC_DEFAULT') === 'SYMMETRIC_DEFAULT') for (const a of ['kms:EnableKeyRotation', 'kms:DisableKeyRotation']) on('update', a);
    for (const a of ['kms:DescribeKey', 'kms:ScheduleKeyDeletion']) on('delete', a);
  }

  // ---- KMS aliases: permission on the alias (IAM) and on the key (key policy) ----------------------------------
  for (const id of sim.idsOfType('AWS::KMS::Alias')) {
    const p = sim.props(id);
    const alias = `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:${p.AliasName}`;
    const keyId = sim.idsOfType('AWS::KMS::Key').find((k) => sim.ref(k) === p.TargetKeyId || sim.arn(k) === p.TargetKeyId);
    if (!keyId) throw new Error(`alias ${id} targets a key outside the template`);
    const key = sim.arn(keyId);
    for (const [operation, action] of [['create', 'kms:CreateAlias'], ['update', 'kms:UpdateAlias'], ['delete', 'kms:DeleteAlias']] as const) {
      add({ resourceId: id, resourceType: 'AWS::KMS::Alias', operation, caller: cfn, principal: deploy, action, resource: alias, target: 'the alias' });
      add({ resourceId: id, resourceType: 'AWS::KMS::Alias', operation, caller: cfn, principal: deploy, action, resource: key, target: `the key ${keyId}` });
    }
    add({ resourceId: id, resourceType: 'AWS::KMS::Alias', operation: 'read', caller: cfn, principal: deploy, action: 'kms:ListAliases', resource: '*' });
  }

  // ---- S3 buckets ----------------------------------------------------------------------------------------------
  for (const id of sim.idsOfType('AWS::S3::Bucket')) {
    const p = sim.props(id);
    const bucket = sim.arn(id);
    const isStore = roleTag(sim, id) === 'attestation-store';
    const on = (operation: Operation, action: string, extra: Partial<DeployCallRow> = {}) =>
      add({ resourceId: id, resourceType: 'AWS::S3::Bucket', operation, caller: cfn, principal: deploy, action, resource: bucket, ...extra });
    const set = Object.keys(BUCKET_PROPERTY_CALLS).filter((k) => p[k] !== undefined);
    // create: the bucket policy depends on the bucket, so it does not exist yet
    on('create', 's3:CreateBucket', { creating: id });
    if (p.ObjectLockEnabled) for (const a of ['s3:PutBucketObjectLockConfiguration', 's3:PutBucketVersioning']) on('create', a, { creating: id });
    for (const k of set) for (const a of BUCKET_PROPERTY_CALLS[k].put) on('create', a, { creating: id });
    for (const k of set) on('read', BUCKET_PROPERTY_CALLS[k].get);
    on('read', 's3:ListBucket');
    // update: the bucket policy is in force
    for (const k of set) {
      for (const a of BUCKET_PROPERTY_CALLS[k].put) {
        const byDesign = isStore ? STORE_UPDATES_IMPOSSIBLE_BY_DESIGN[a] : undefined;
        on('update', a, byDesign ? { expect: 'ExplicitlyDenied', byDesign } : {});
      }
    }
    // a lifecycle rule added to a store that had none is refused too
    if (isStore && p.LifecycleConfiguration === undefined) {
      on('update', 's3:PutLifecycleConfiguration', { expect: 'ExplicitlyDenied', byDesign: STORE_UPDATES_IMPOSSIBLE_BY_DESIGN['s3:PutLifecycleConfiguration'] });
    }
    for (const a of ['s3:ListBucket', 's3:DeleteBucket']) on('delete', a);
  }

  for (const id of sim.idsOfType('AWS::S3::BucketPolicy')) {
    const bucket = `arn:${PARTITION}:s3:::${sim.props(id).Bucket}`;
    const on = (operation: Operation, action: string, extra: Partial<DeployCallRow> = {}) =>
      add({ resourceId: id, resourceType: 'AWS::S3::BucketPolicy', operation, caller: cfn, principal: deploy, action, resource: bucket, ...extra });
    for (const a of ['s3:GetBucketPolicy', 's3:PutBucketPolicy']) on('create', a, { creating: id });
    for (const a of ['s3:GetBucketPolicy', 's3:PutBucketPolicy']) on('update', a);
    for (const a of ['s3:GetBucketPolicy', 's3:DeleteBucketPolicy']) on('delete', a);
  }

  // ---- VPC endpoints -------------------------------------------------------------------------------------------
  for (const id of sim.idsOfType('AWS::EC2::VPCEndpoint')) {
    const endpoint = `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:vpc-endpoint/${sim.ref(id)}`;
    const on = (operation: Operation, action: string, resource = endpoint) =>
      add({ resourceId: id, resourceType: 'AWS::EC2::VPCEndpoint', operation, caller: cfn, principal: deploy, action, resource });
    on('create', 'ec2:CreateVpcEndpoint');
    on('create', 'ec2:CreateTags');
    for (const a of ['ec2:DescribeVpcEndpoints', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs']) on('read', a, '*');
    on('update', 'ec2:ModifyVpcEndpoint');
    on('delete', 'ec2:DeleteVpcEndpoints');
  }

  // ---- CodeBuild projects and their roles ----------------------------------------------------------------------
  for (const id of sim.idsOfType('AWS::CodeBuild::Project')) {
    const p = sim.props(id);
    const project = sim.arn(id);
    const roleId = sim.idsOfType('AWS::IAM::Role').find((r) => sim.arn(r) === p.ServiceRole);
    if (!roleId) throw new Error(`project ${id} uses a service role outside the template`);
    const role = sim.role(roleId);
    const on = (operation: Operation, action: string, extra: Partial<DeployCallRow> = {}) =>
      add({ resourceId: id, resourceType: 'AWS::CodeBuild::Project', operation, caller: cfn, principal: deploy, action, resource: project, ...extra });
    const passRole = { action: 'iam:PassRole', resource: role.arn, context: { 'iam:PassedToService': 'codebuild.amazonaws.com' } };
    on('create', 'codebuild:CreateProject');
    on('create', passRole.action, passRole);
    on('read', 'codebuild:BatchGetProjects');
    on('update', 'codebuild:UpdateProject');
    on('update', passRole.action, passRole);
    on('delete', 'codebuild:DeleteProject');
    if (p.VpcConfig) {
      // CodeBuild checks the service role can manage network interfaces in the VPC when the project is saved
      for (const a of ['ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs', 'ec2:DescribeDhcpOptions', 'ec2:DescribeNetworkInterfaces']) {
        on('create', a, { caller: 'CodeBuild (project service role)', principal: role, resource: '*' });
      }
    }
    rows.push(...codeBuildRuntimeRows(sim, id, roleId));

    for (const [rid, type] of [[roleId, 'AWS::IAM::Role'], ...sim.idsOfType('AWS::IAM::Policy')
      .filter((pid) => (sim.props(pid).Roles ?? []).includes(sim.ref(roleId))).map((pid) => [pid, 'AWS::IAM::Policy'])] as [string, string][]) {
      const roleArn = role.arn;
      const calls: [Operation, string][] = type === 'AWS::IAM::Role'
        ? [['create', 'iam:CreateRole'], ['read', 'iam:GetRole'], ['update', 'iam:UpdateAssumeRolePolicy'], ['update', 'iam:UpdateRoleDescription'], ['delete', 'iam:DeleteRole']]
        : [['create', 'iam:PutRolePolicy'], ['read', 'iam:GetRolePolicy'], ['update', 'iam:PutRolePolicy'], ['delete', 'iam:DeleteRolePolicy']];
      for (const [operation, action] of calls) {
        add({ resourceId: rid, resourceType: type, operation, caller: cfn, principal: deploy, action, resource: roleArn });
      }
    }
  }

  // ---- ECR repositories encrypted with a KMS key ----------------------------------------------------------------
  for (const id of sim.idsOfType('AWS::ECR::Repository')) {
    const p = sim.props(id);
    const repo = sim.arn(id);
    add({ resourceId: id, resourceType: 'AWS::ECR::Repository', operation: 'create', caller: cfn, principal: deploy, action: 'ecr:CreateRepository', resource: repo });
    const keyArn = p.EncryptionConfiguration?.KmsKey;
    if (keyArn) {
      const viaEcr = { 'kms:ViaService': `ecr.${REGION}.amazonaws.com`, 'kms:GrantIsForAWSResource': 'true' };
      for (const action of ['kms:DescribeKey', 'kms:CreateGrant']) {
        add({
          resourceId: id,
          resourceType: 'AWS::ECR::Repository',
          operation: 'create',
          caller: 'ECR for CloudFormation (deploy role)',
          principal: deploy,
          action,
          resource: keyArn,
          context: action === 'kms:CreateGrant' ? viaEcr : { 'kms:ViaService': viaEcr['kms:ViaService'] },
        });
      }
    }
    add({ resourceId: id, resourceType: 'AWS::ECR::Repository', operation: 'delete', caller: cfn, principal: deploy, action: 'ecr:DeleteRepository', resource: repo });
  }

  // ---- KMS-encrypted log groups ----------------------------------------------------------------------------------
  for (const id of sim.idsOfType('AWS::Logs::LogGroup')) {
    const p = sim.props(id);
    if (!p.KmsKeyId) continue;
    const groupArn = `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${p.LogGroupName ?? sim.ref(id)}`;
    add({ resourceId: id, resourceType: 'AWS::Logs::LogGroup', operation: 'create', caller: cfn, principal: deploy, action: 'logs:CreateLogGroup', resource: `${groupArn}:*` });
    for (const action of ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt']) {
      add({
        resourceId: id,
        resourceType: 'AWS::Logs::LogGroup',
        operation: 'runtime',
        caller: 'CloudWatch Logs',
        principal: sim.service(`logs.${REGION}.amazonaws.com`),
        action,
        resource: p.KmsKeyId,
        context: { 'kms:EncryptionContext:aws:logs:arn': groupArn },
      });
    }
  }

  // ---- EventBridge rules that start builds ------------------------------------------------------------------------
  for (const id of sim.idsOfType('AWS::Events::Rule')) {
    const ruleArn = `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/${sim.props(id).Name ?? sim.ref(id)}`;
    for (const target of sim.props(id).Targets ?? []) {
      if (!String(target.Arn).startsWith(`arn:${PARTITION}:codebuild:`) || !target.RoleArn) continue;
      const roleId = sim.idsOfType('AWS::IAM::Role').find((r) => sim.arn(r) === target.RoleArn)!;
      add({
        resourceId: id,
        resourceType: 'AWS::Events::Rule',
        operation: 'runtime',
        caller: 'EventBridge',
        principal: sim.service('events.amazonaws.com'),
        action: 'sts:AssumeRole',
        resource: target.RoleArn,
        context: { 'aws:SourceArn': ruleArn, 'aws:SourceAccount': ACCOUNT },
      });
      // the variables the rule's input sets, as StartBuild receives them
      const names = [...String(target.InputTransformer?.InputTemplate ?? target.Input ?? '').matchAll(/"name":"([A-Z0-9_]+)"/g)].map((m) => m[1]);
      add({
        resourceId: id,
        resourceType: 'AWS::Events::Rule',
        operation: 'runtime',
        caller: 'EventBridge (rule target role)',
        principal: sim.role(roleId),
        action: 'codebuild:StartBuild',
        resource: target.Arn,
        ...(names.length > 0 ? { context: { 'codebuild:environment.environmentVariables.name': names } } : {}),
      });
    }
  }

  // ---- CDK's deploy-time helper functions (custom resources) --------------------------------------------------
  for (const id of sim.idsOfType('Custom::AWS')) {
    const fnRole = sim.idsOfType('AWS::IAM::Role').find((r) => r.startsWith('AWS679f53fac002430cb0da5b7982bd2287'))!;
    add({
      resourceId: id,
      resourceType: 'Custom::AWS',
      operation: 'create',
      caller: 'CDK custom resource function',
      principal: sim.role(fnRole),
      action: 'ec2:DescribePrefixLists',
      resource: '*',
    });
  }
  for (const id of sim.idsOfType('Custom::S3BucketNotifications')) {
    const fnRole = sim.idsOfType('AWS::IAM::Role').find((r) => r.startsWith('BucketNotificationsHandler'))!;
    add({
      resourceId: id,
      resourceType: 'Custom::S3BucketNotifications',
      operation: 'create',
      caller: 'CDK bucket-notifications function',
      principal: sim.role(fnRole),
      action: 's3:PutBucketNotification',
      resource: `arn:${PARTITION}:s3:::${sim.props(id).BucketName}`,
    });
  }

  // ---- readers of a store: S3 decrypts with the store key on their behalf ----------------------------------------
  for (const storeId of sim.idsOfType('AWS::S3::Bucket').filter((b) => roleTag(sim, b) === 'attestation-store')) {
    const bucket = sim.arn(storeId);
    const keyArn = sim.props(storeId).BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID;
    for (const roleId of sim.idsOfType('AWS::IAM::Role')) {
      const reader = sim.role(roleId);
      const reads = reader.identityPolicies.some((p) => [p.policy.Statement].flat().some((st: any) => st.Effect === 'Allow' &&
        [st.Action].flat().includes('s3:GetObject') && [st.Resource].flat().some((r: string) => String(r).startsWith(`${bucket}/`))));
      if (!reads) continue;
      const object = `${bucket}/bundles/sha256/${'a'.repeat(64)}/${'b'.repeat(64)}/${'c'.repeat(64)}.sig.json`;
      add({
        resourceId: storeId,
        resourceType: 'AWS::S3::Bucket',
        operation: 'runtime',
        caller: `a reader (${roleId})`,
        principal: reader,
        action: 's3:GetObject',
        resource: object,
      });
      add({
        resourceId: storeId,
        resourceType: 'AWS::S3::Bucket',
        operation: 'runtime',
        caller: `S3 for a reader (${roleId}, bucket key)`,
        principal: reader,
        action: 'kms:Decrypt',
        resource: keyArn,
        context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': bucket },
      });
    }
  }

  // ---- the attestation store used through S3 ---------------------------------------------------------------------
  for (const id of sim.idsOfType('AWS::S3::Bucket').filter((b) => roleTag(sim, b) === 'attestation-store')) {
    const p = sim.props(id);
    const bucket = sim.arn(id);
    const logging = p.LoggingConfiguration;
    if (logging) {
      const logBucketId = sim.idsOfType('AWS::S3::Bucket').find((b) => sim.ref(b) === logging.DestinationBucketName)!;
      add({
        resourceId: logBucketId,
        resourceType: 'AWS::S3::Bucket',
        operation: 'runtime',
        caller: 'S3 server access logging',
        principal: sim.service('logging.s3.amazonaws.com'),
        action: 's3:PutObject',
        resource: `${sim.arn(logBucketId)}/${logging.LogFilePrefix ?? ''}2026-01-01-00-00-00-0000000000000000`,
        context: { 'aws:SourceArn': bucket, 'aws:SourceAccount': ACCOUNT },
      });
    }
  }
  return rows;
}

/**
 * The signer of ECR's presigned layer URLs: an AWS-owned identity that may read the layer bucket. Only the S3 gateway
 * endpoint policy can refuse such a download.
 */
const ECR_LAYER_URL = {
  arn: 'arn:aws:iam::999999999999:role/ecr-layer-url-signer',
  label: 'ECR presigned layer URL',
  identityPolicies: [{
    name: 'ecr-presigned-url',
    policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:${PARTITION}:s3:::prod-${REGION}-starport-layer-bucket/*` }] },
  }],
};

/** What CodeBuild does with the project's service role while a build runs, and what the build's commands call. */
function codeBuildRuntimeRows(sim: TemplateSimulator, projectId: string, roleId: string): DeployCallRow[] {
  const rows: DeployCallRow[] = [];
  const p = sim.props(projectId);
  const role = sim.role(roleId);
  const projectArn = sim.arn(projectId);
  const buildArn = projectArn.replace(':project/', ':build/') + ':11111111-2222-4333-8444-555555555555';
  const kind = roleTag(sim, projectId) ?? 'build';
  const caller = `CodeBuild (${kind} role)`;
  const endpoints = sim.idsOfType('AWS::EC2::VPCEndpoint');
  const endpoint = (suffix: string) => endpoints.find((e) => String(sim.props(e).ServiceName).endsWith(`.${suffix}`));
  const via = (suffix: string) => {
    const e = endpoint(suffix);
    return e ? [e] : undefined;
  };
  // every call made with the build's credentials carries the build's ARN as the session key codebuild:buildArn
  const session = { 'codebuild:buildArn': buildArn, 'codebuild:projectArn': projectArn };
  const add = (r: Omit<DeployCallRow, 'name' | 'expect' | 'operation' | 'caller' | 'resourceId' | 'resourceType'> & Partial<DeployCallRow>) => {
    rows.push({
      expect: 'Allowed',
      operation: 'runtime',
      caller,
      resourceId: projectId,
      resourceType: 'AWS::CodeBuild::Project',
      name: `${projectId} runtime ${r.action} on ${r.resource} as ${r.principal.label}`,
      session,
      ...r,
    });
  };

  add({
    principal: sim.service('codebuild.amazonaws.com'),
    caller: 'CodeBuild',
    action: 'sts:AssumeRole',
    resource: role.arn,
    context: { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': projectArn },
  });

  if (p.VpcConfig) {
    for (const a of ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeDhcpOptions', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs']) {
      add({ principal: role, action: a, resource: '*' });
    }
    const eni = `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:network-interface/eni-0123456789abcdef0`;
    // CreateNetworkInterface is authorized on each resource it touches (EC2 service authorization reference)
    add({ principal: role, action: 'ec2:CreateNetworkInterface', resource: eni, target: 'the network interface' });
    for (const sg of p.VpcConfig.SecurityGroupIds as string[]) {
      add({ principal: role, action: 'ec2:CreateNetworkInterface', resource: `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:security-group/${sg}`, target: 'the security group' });
    }
    for (const subnet of p.VpcConfig.Subnets as string[]) {
      const subnetArn = `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:subnet/${subnet}`;
      add({ principal: role, action: 'ec2:CreateNetworkInterface', resource: subnetArn, target: 'the subnet' });
      add({ principal: role, action: 'ec2:DeleteNetworkInterface', resource: eni, context: { 'ec2:Subnet': subnetArn } });
      add({
        principal: role,
        action: 'ec2:CreateNetworkInterfacePermission',
        resource: eni,
        context: { 'ec2:Subnet': subnetArn, 'ec2:AuthorizedService': 'codebuild.amazonaws.com' },
      });
    }
  }

  // the source: an S3 object (the modelseal CLI asset), downloaded in the VPC through the S3 gateway endpoint
  if (p.Source?.Type === 'S3') {
    add({ principal: role, action: 's3:GetObject', resource: `arn:${PARTITION}:s3:::${p.Source.Location}`, via: via('s3'), noResourcePolicy: true });
  }

  // a private ECR image pulled with the service role, through the ECR endpoints and the S3 gateway (layers)
  const image: string = p.Environment.Image;
  const ecr = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^@:]+)/.exec(image);
  if (ecr && p.Environment.ImagePullCredentialsType === 'SERVICE_ROLE') {
    const repo = `arn:${PARTITION}:ecr:${ecr[2]}:${ecr[1]}:repository/${ecr[3]}`;
    add({ principal: role, action: 'ecr:GetAuthorizationToken', resource: '*', via: via('ecr.api') });
    const pull = ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'];
    // an image in another account needs its repository policy to let the train role pull (docs/DEPLOYMENT.md)
    const externalPolicy = ecr[1] === ACCOUNT ? undefined : {
      name: `repository policy of ${ecr[3]} (account ${ecr[1]})`,
      kind: 'repository policy',
      policy: { Version: '2012-10-17', Statement: [{ Sid: 'AllowModelSealRunnerPull', Effect: 'Allow', Principal: { AWS: role.arn }, Action: pull }] },
    };
    for (const a of pull) add({ principal: role, action: a, resource: repo, via: via('ecr.dkr'), externalPolicy });
    // layers come from an AWS-owned bucket through a URL ECR presigns: the role's IAM does not apply to that GET,
    // only the S3 gateway endpoint policy does
    add({
      principal: ECR_LAYER_URL,
      caller: 'CodeBuild (ECR presigned layer URL)',
      action: 's3:GetObject',
      resource: `arn:${PARTITION}:s3:::prod-${REGION}-starport-layer-bucket/layer-0123`,
      resourceAccount: ECR_LAYER_URL.arn.split(':')[4],
      via: via('s3'),
      noResourcePolicy: true,
      session: undefined,
    });
  }

  // its logs, through the Logs endpoint, under its own stream prefix
  const logGroup = p.LogsConfig?.CloudWatchLogs?.GroupName;
  if (logGroup) {
    const prefix = p.LogsConfig.CloudWatchLogs.StreamName ? `${p.LogsConfig.CloudWatchLogs.StreamName}/` : '';
    for (const a of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
      add({ principal: role, action: a, resource: `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${logGroup}:log-stream:${prefix}11111111-2222-4333-8444-555555555555`, via: via('logs') });
    }
  }

  const env = Object.fromEntries((p.Environment.EnvironmentVariables ?? []).map((v: any) => [v.Name, v.Value]));
  const source = /^s3:\/\/([^/]+)\/(.*)$/.exec(env.MODEL_SOURCE_URI ?? '');
  const staging = /^s3:\/\/([^/]+)\/$/.exec(env.MODEL_STAGING_URI ?? '');
  const stagingKey = staging ? sim.props(sim.idsOfType('AWS::S3::Bucket').find((b) => sim.ref(b) === staging[1])!).BucketEncryption
    ?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault?.KMSMasterKeyID : undefined;
  if (kind === 'train') {
    // the inputs: `aws s3 sync`, through the S3 gateway endpoint
    if (source) {
      add({ principal: role, action: 's3:ListBucket', resource: `arn:${PARTITION}:s3:::${source[1]}`, via: via('s3'), context: { 's3:prefix': source[2] } });
      add({ principal: role, action: 's3:GetObject', resource: `arn:${PARTITION}:s3:::${source[1]}/${source[2]}train.csv`, via: via('s3') });
    }
    // the model: `aws s3 cp --recursive` under its own build's ARN; S3 uses the staging key on the role's behalf
    if (staging) {
      const bucket = `arn:${PARTITION}:s3:::${staging[1]}`;
      for (const a of ['s3:PutObject', 's3:AbortMultipartUpload']) add({ principal: role, action: a, resource: `${bucket}/${buildArn}/model/weights.bin`, via: via('s3') });
      if (stagingKey) {
        for (const a of ['kms:GenerateDataKey', 'kms:Decrypt']) {
          add({
            principal: role,
            caller: `S3 for the ${kind} role (bucket key)`,
            action: a,
            resource: stagingKey,
            context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': bucket },
          });
        }
      }
    }
  }
  if (kind === 'seal') {
    // the train build's facts, through the CodeBuild endpoint
    if (env.TRAIN_PROJECT) {
      const trainProject = `arn:${PARTITION}:codebuild:${REGION}:${ACCOUNT}:project/${env.TRAIN_PROJECT}`;
      for (const a of ['codebuild:BatchGetBuilds', 'codebuild:BatchGetProjects']) {
        add({ principal: role, action: a, resource: trainProject, via: via('codebuild'), target: 'the train project' });
        add({ principal: role, action: a, resource: projectArn, via: via('codebuild'), target: 'its own project' });
      }
    }
    // the staged model and the inputs, by version, through the S3 gateway endpoint
    if (staging) {
      const bucket = `arn:${PARTITION}:s3:::${staging[1]}`;
      add({ principal: role, action: 's3:ListBucketVersions', resource: bucket, via: via('s3'), context: { 's3:prefix': `${buildArn}/model/` } });
      add({ principal: role, action: 's3:GetObjectVersion', resource: `${bucket}/${buildArn}/model/weights.bin`, via: via('s3') });
      if (stagingKey) {
        add({
          principal: role,
          caller: `S3 for the ${kind} role (bucket key)`,
          action: 'kms:Decrypt',
          resource: stagingKey,
          context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': bucket },
        });
      }
    }
    if (source) {
      add({ principal: role, action: 's3:ListBucketVersions', resource: `arn:${PARTITION}:s3:::${source[1]}`, via: via('s3'), context: { 's3:prefix': source[2] } });
      add({ principal: role, action: 's3:GetObjectVersion', resource: `arn:${PARTITION}:s3:::${source[1]}/${source[2]}train.csv`, via: via('s3') });
    }
    // signing: modelseal sign kms, through the KMS endpoint
    if (env.MODELSEAL_SIGNER === 'kms' && env.MODELSEAL_KMS_KEY) {
      const keyId = sim.idsOfType('AWS::KMS::Key').find((k) => sim.arn(k) === env.MODELSEAL_KMS_KEY);
      const algorithm = keyId && sim.props(keyId).KeySpec === 'ECC_NIST_P384' ? 'ECDSA_SHA_384' : 'ECDSA_SHA_256';
      add({ principal: role, action: 'kms:Sign', resource: env.MODELSEAL_KMS_KEY, via: via('kms'), context: { 'kms:MessageType': 'DIGEST', 'kms:SigningAlgorithm': algorithm } });
      for (const a of ['kms:GetPublicKey', 'kms:DescribeKey']) add({ principal: role, action: a, resource: env.MODELSEAL_KMS_KEY, via: via('kms') });
    }
    // publishing and the reference: conditional, SSE-KMS PutObjects through the S3 gateway; S3 then asks KMS for a
    // data key on the role's behalf (bucket key: the bucket ARN is the encryption context)
    const store = /^s3:\/\/([^/]+)\/?(.*)$/.exec(env.MODELSEAL_STORE ?? '');
    if (store && env.MODELSEAL_STORE_KMS_KEY_ARN) {
      const bucket = `arn:${PARTITION}:s3:::${store[1]}`;
      const upload = {
        's3:x-amz-server-side-encryption': 'aws:kms',
        's3:x-amz-server-side-encryption-aws-kms-key-id': env.MODELSEAL_STORE_KMS_KEY_ARN,
        's3:if-none-match': '*',
        's3:ObjectCreationOperation': 'true',
      };
      const root = 'a'.repeat(64);
      for (const key of [`bundles/sha256/${root}/${'b'.repeat(64)}/${'c'.repeat(64)}.sig.json`,
        `attestations/sha256/${root}/slsa-provenance-v1/${'b'.repeat(64)}/${'c'.repeat(64)}.json`,
        ...(env.MODEL_NAME ? [`refs/${env.MODEL_NAME}/7`] : [])]) {
        add({ principal: role, action: 's3:PutObject', resource: `${bucket}/${store[2]}${key}`, via: via('s3'), context: upload, target: key.split('/')[0] + '/' });
      }
      add({
        principal: role,
        caller: `S3 for the ${kind} role (bucket key)`,
        action: 'kms:GenerateDataKey',
        resource: env.MODELSEAL_STORE_KMS_KEY_ARN,
        context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com`, 'kms:EncryptionContext:aws:s3:arn': bucket },
      });
    }
  }

  // the project's encryption key, used by CodeBuild with the service role (artifacts, cache); a build command calling
  // KMS itself with the role's credentials (no kms:ViaService) is refused by the key policy and the role's policy,
  // whatever VPC endpoint it goes through (the runner's own KMS endpoint policy refuses it too; a VPC of yours with
  // createEndpoints: false may have an open one), so the rows leave the endpoint out
  if (p.EncryptionKey) {
    for (const a of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      add({ principal: role, action: a, resource: p.EncryptionKey, context: { 'kms:ViaService': `codebuild.${REGION}.amazonaws.com` } });
    }
    for (const a of ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']) {
      add({
        principal: role,
        caller: `a ${kind} build command (${kind} role)`,
        action: a,
        resource: p.EncryptionKey,
        expect: 'ImplicitlyDenied',
        byDesign: RUNNER_KEY_DIRECT_USE_REFUSED_BY_DESIGN,
      });
    }
  }
  return rows;
}

/** One line of the generated table: calls with the same operation, caller and deciding statements. */
interface TableLine {
  type: string;
  resources: string[];
  operation: Operation;
  caller: string;
  actions: string[];
  decision: string;
}

const OPERATIONS: Operation[] = ['create', 'read', 'update', 'delete', 'runtime'];

/** Renders the evaluated deploy-call rows as the Markdown tables of docs/DEPLOYMENT.md. */
export function renderDeployCallTables(
  sim: TemplateSimulator, results: SimResult[],
  options: { example?: string; testFile?: string; refusedLead?: string } = {},
): string {
  const label = (id: string) => {
    const tag = roleTag(sim, id);
    return `\`${id}\`${tag ? ` (${tag})` : ''}`;
  };
  const statements = (r: SimResult) => r.decisive.map((d) => `\`${d}\``).join(' + ');
  const group = (rs: SimResult[], decisionOf: (r: SimResult) => string): TableLine[] => {
    // first the calls per resource, then resources whose calls and deciding statements are the same share a line
    const perResource: TableLine[] = [];
    for (const res of rs) {
      const row = res.row as DeployCallRow;
      const decision = decisionOf(res);
      const action = row.target ? `\`${row.action}\` on ${row.target}` : `\`${row.action}\``;
      const line = perResource.find((l) => l.resources[0] === label(row.resourceId) && l.operation === row.operation &&
        l.caller === row.caller && l.decision === decision);
      if (line) {
        if (!line.actions.includes(action)) line.actions.push(action);
      } else {
        perResource.push({
          type: row.resourceType, resources: [label(row.resourceId)], operation: row.operation, caller: row.caller, actions: [action], decision,
        });
      }
    }
    const merged: TableLine[] = [];
    for (const l of perResource) {
      const same = merged.find((m) => m.type === l.type && m.operation === l.operation && m.caller === l.caller &&
        m.decision === l.decision && m.actions.join() === l.actions.join());
      if (same) same.resources.push(...l.resources); else merged.push({ ...l, resources: [...l.resources] });
    }
    return merged.sort((a, b) => a.type.localeCompare(b.type) || a.resources[0].localeCompare(b.resources[0]) ||
      OPERATIONS.indexOf(a.operation) - OPERATIONS.indexOf(b.operation));
  };
  const table = (head: string, ls: TableLine[]) => [
    head,
    '|---|---|---|---|---|',
    ...ls.map((l) => `| ${l.type.replace(/^AWS::/, '')} ${l.resources.join(', ')} | ${l.operation} | ${l.caller} | ${l.actions.join(', ')} | ${l.decision} |`),
  ].join('\n');
  const allowed = results.filter((r) => !(r.row as DeployCallRow).byDesign);
  const refused = results.filter((r) => (r.row as DeployCallRow).byDesign);
  return [
    `${allowed.length} calls, each allowed for the role that makes it (evaluated by \`${options.testFile ?? 'test/aws/deploy-calls.test.ts'}\` on ` +
      `\`examples/${options.example ?? 'core-stack'}\`; ` + 'a statement is named `<logical ID of its policy>: <Sid>`; `AdministratorAccess` is the ' +
      'deploying role\'s own policy). Same-account calls on a KMS key need both the key policy and the IAM policy:',
    '',
    table('| resource | when | caller | calls | allowed by |', group(allowed, statements)),
    '',
    `${refused.length} ${options.refusedLead ?? 'calls are refused by design (the updates to every principal, the deploying role included):'}`,
    '',
    table('| resource | when | caller | calls | why, and the statement that refuses it |',
      group(refused, (r) => `${(r.row as DeployCallRow).byDesign}; ${r.decisive.length ? `refused by ${statements(r)}` : 'no statement allows it'}`)),
  ].join('\n');
}
