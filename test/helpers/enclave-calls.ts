/**
 * The deploy-call rows of the Nitro Enclave serving tier (examples/enclave-serving), on top of the generic rows of
 * deploy-calls.ts (keys, aliases, buckets, bucket policies, store readers): the calls CloudFormation's handlers make on
 * the tier's roles, instance profile, launch template, Auto Scaling group and load balancer, the calls EC2 and the
 * hosts make once it runs, and the weights key's decisions (the host decrypts only in an attested enclave; only the
 * seal role makes data keys), each evaluated as the principal that makes it.
 *
 * Sources of the call lists:
 * - AWS::IAM::InstanceProfile: registry schema (create: iam:CreateInstanceProfile, iam:AddRoleToInstanceProfile,
 *   iam:GetInstanceProfile; delete: iam:GetInstanceProfile, iam:RemoveRoleFromInstanceProfile, iam:DeleteInstanceProfile).
 * - AWS::EC2::LaunchTemplate: registry schema (create: ec2:CreateLaunchTemplate, iam:PassRole; update:
 *   ec2:CreateLaunchTemplateVersion, ec2:ModifyLaunchTemplate, iam:PassRole; delete: ec2:DeleteLaunchTemplate).
 * - AWS::AutoScaling::AutoScalingGroup: registry schema (create/update: autoscaling:CreateAutoScalingGroup /
 *   UpdateAutoScalingGroup, iam:PassRole for the launch template's instance profile role, ec2:RunInstances through the
 *   Auto Scaling service-linked role; delete: autoscaling:DeleteAutoScalingGroup).
 * - AWS::ElasticLoadBalancingV2::*: registry schemas (CreateLoadBalancer, CreateListener, CreateTargetGroup,
 *   Modify*, Delete*); elasticloadbalancing actions support resource-level permissions.
 * - At run time: EC2 assumes the instance role (trust policy); the host reads the CLI asset, the artifacts and the store
 *   and the signing key's public key (`verify policy`); Session Manager registers the instance; kmstool_enclave_cli
 *   calls kms:Decrypt with the instance role's credentials and a Recipient attestation
 *   (https://docs.aws.amazon.com/enclaves/latest/user/kms.html).
 */
import { DeployCallRow, Operation, roleTag } from './deploy-calls';
import { ACCOUNT, PARTITION, REGION, TemplateSimulator } from './iam-sim';

/** Why a refused weights-key call can never be made; the reason goes into docs/DEPLOYMENT.md. */
export const WEIGHTS_KEY_REFUSED_BY_DESIGN = {
  noAttestation: 'the host never decrypts the weights outside an enclave (no Recipient attestation)',
  debugEnclave: 'a debug-mode enclave measures all-zero PCRs, which no key policy allows',
  otherImage: 'an enclave image not signed with the allowed certificate (another PCR8)',
  hostMakesKey: 'only the seal role makes data keys: a host that could would wrap weights of its own for the enclave',
  sealerDecrypts: 'the seal role makes data keys and never decrypts one',
};

/** The rows for the enclave tier's resources and the weights key (see the module comment). */
export function enclaveCallRows(sim: TemplateSimulator, pcr8: string): DeployCallRow[] {
  const deploy = sim.deployRole();
  const rows: DeployCallRow[] = [];
  const cfn = 'CloudFormation (deploy role)';
  const add = (r: Omit<DeployCallRow, 'name' | 'expect'> & { expect?: DeployCallRow['expect'] }) => {
    rows.push({ expect: 'Allowed', name: `${r.resourceId} ${r.operation} ${r.action} as ${r.principal.label}${r.target ? ` on ${r.target}` : ''}`, ...r });
  };

  const instanceRoleId = sim.idOf('AWS::IAM::Role', 'ServingInstanceRole');
  const sealRoleId = sim.idOf('AWS::IAM::Role', 'SealRole');
  const host = sim.role(instanceRoleId);
  const sealer = sim.role(sealRoleId);
  const passToEc2 = { 'iam:PassedToService': 'ec2.amazonaws.com' };

  // ---- roles and their policies ----------------------------------------------------------------------------------
  for (const roleId of [instanceRoleId, sealRoleId]) {
    const roleArn = sim.arn(roleId);
    const on = (id: string, type: string, operation: Operation, action: string) =>
      add({ resourceId: id, resourceType: type, operation, caller: cfn, principal: deploy, action, resource: roleArn });
    for (const [operation, action] of [['create', 'iam:CreateRole'], ['read', 'iam:GetRole'], ['update', 'iam:UpdateAssumeRolePolicy'], ['delete', 'iam:DeleteRole']] as const) {
      on(roleId, 'AWS::IAM::Role', operation, action);
    }
    for (const policyId of sim.idsOfType('AWS::IAM::Policy').filter((p) => (sim.props(p).Roles ?? []).includes(sim.ref(roleId)))) {
      for (const [operation, action] of [['create', 'iam:PutRolePolicy'], ['read', 'iam:GetRolePolicy'], ['update', 'iam:PutRolePolicy'], ['delete', 'iam:DeleteRolePolicy']] as const) {
        on(policyId, 'AWS::IAM::Policy', operation, action);
      }
    }
  }

  // ---- instance profile, launch template, Auto Scaling group, load balancer ------------------------------------------
  for (const id of sim.idsOfType('AWS::IAM::InstanceProfile')) {
    const profile = sim.arn(id);
    for (const [operation, action] of [['create', 'iam:CreateInstanceProfile'], ['create', 'iam:AddRoleToInstanceProfile'], ['read', 'iam:GetInstanceProfile'],
      ['delete', 'iam:RemoveRoleFromInstanceProfile'], ['delete', 'iam:DeleteInstanceProfile']] as const) {
      add({ resourceId: id, resourceType: 'AWS::IAM::InstanceProfile', operation, caller: cfn, principal: deploy, action, resource: profile });
    }
  }
  for (const id of sim.idsOfType('AWS::EC2::LaunchTemplate')) {
    const template = `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:launch-template/${sim.ref(id)}`;
    const on = (operation: Operation, action: string) =>
      add({ resourceId: id, resourceType: 'AWS::EC2::LaunchTemplate', operation, caller: cfn, principal: deploy, action, resource: template });
    on('create', 'ec2:CreateLaunchTemplate');
    on('update', 'ec2:CreateLaunchTemplateVersion');
    on('update', 'ec2:ModifyLaunchTemplate');
    on('delete', 'ec2:DeleteLaunchTemplate');
    for (const operation of ['create', 'update'] as const) {
      add({ resourceId: id, resourceType: 'AWS::EC2::LaunchTemplate', operation, caller: cfn, principal: deploy, action: 'iam:PassRole', resource: host.arn, context: passToEc2, target: 'the instance role' });
    }
  }
  for (const id of sim.idsOfType('AWS::AutoScaling::AutoScalingGroup')) {
    const group = `arn:${PARTITION}:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:0123abcd-0123-4567-89ab-0123456789ab:autoScalingGroupName/${sim.ref(id)}`;
    const on = (operation: Operation, action: string) =>
      add({ resourceId: id, resourceType: 'AWS::AutoScaling::AutoScalingGroup', operation, caller: cfn, principal: deploy, action, resource: group });
    on('create', 'autoscaling:CreateAutoScalingGroup');
    on('update', 'autoscaling:UpdateAutoScalingGroup');
    on('delete', 'autoscaling:DeleteAutoScalingGroup');
    for (const operation of ['create', 'update'] as const) {
      add({ resourceId: id, resourceType: 'AWS::AutoScaling::AutoScalingGroup', operation, caller: cfn, principal: deploy, action: 'iam:PassRole', resource: host.arn, context: passToEc2, target: 'the instance role' });
    }
    // every instance the group launches: EC2 takes the instance role for it
    add({
      resourceId: id,
      resourceType: 'AWS::AutoScaling::AutoScalingGroup',
      operation: 'runtime',
      caller: 'EC2 (instance profile)',
      principal: sim.service('ec2.amazonaws.com'),
      action: 'sts:AssumeRole',
      resource: host.arn,
    });
  }
  for (const [type, actions] of [
    ['AWS::ElasticLoadBalancingV2::LoadBalancer', ['CreateLoadBalancer', 'ModifyLoadBalancerAttributes', 'DeleteLoadBalancer']],
    ['AWS::ElasticLoadBalancingV2::TargetGroup', ['CreateTargetGroup', 'ModifyTargetGroupAttributes', 'DeleteTargetGroup']],
    ['AWS::ElasticLoadBalancingV2::Listener', ['CreateListener', 'ModifyListener', 'DeleteListener']],
  ] as const) {
    for (const id of sim.idsOfType(type)) {
      const listener = `arn:${PARTITION}:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/net/${sim.stackName}/0123456789abcdef/0123456789abcdef`;
      const lb = sim.ref(sim.idsOfType('AWS::ElasticLoadBalancingV2::LoadBalancer')[0]);
      const ops: Operation[] = ['create', 'update', 'delete'];
      actions.forEach((a, i) => {
        // a listener is created on its load balancer, then changed and deleted as itself
        const resource = type !== 'AWS::ElasticLoadBalancingV2::Listener' ? sim.ref(id) : i === 0 ? lb : listener;
        add({ resourceId: id, resourceType: type, operation: ops[i], caller: cfn, principal: deploy, action: `elasticloadbalancing:${a}`, resource });
      });
    }
  }

  // ---- what a host does with the instance role -----------------------------------------------------------------------
  const hostCall = (action: string, resource: string, extra: Partial<DeployCallRow> = {}) =>
    add({ resourceId: instanceRoleId, resourceType: 'AWS::IAM::Role', operation: 'runtime', caller: 'the enclave host (instance role)', principal: host, action, resource, ...extra });
  const script = Buffer.from(sim.props(sim.idsOfType('AWS::EC2::LaunchTemplate')[0]).LaunchTemplateData.UserData, 'base64').toString('utf8');
  const cli = /aws s3 cp --only-show-errors s3:\/\/([^/]+)\/(\S+) \/opt\/modelseal\/modelseal-cli\.js/.exec(script)!;
  hostCall('s3:GetObject', `arn:${PARTITION}:s3:::${cli[1]}/${cli[2]}`, { noResourcePolicy: true, target: 'the CLI asset' });
  for (const m of script.matchAll(/aws s3 cp --recursive --only-show-errors s3:\/\/([^/]+)\/(\S+) /g)) {
    const bucket = `arn:${PARTITION}:s3:::${m[1]}`;
    hostCall('s3:ListBucket', bucket, { context: { 's3:prefix': m[2] }, target: m[2] });
    hostCall('s3:GetObject', `${bucket}/${m[2]}part-0001`, { target: m[2] });
  }
  for (const keyId of sim.idsOfType('AWS::KMS::Key').filter((k) => roleTag(sim, k) === 'signing-key')) {
    hostCall('kms:GetPublicKey', sim.arn(keyId), { target: 'the trust policy\'s signing key' });
  }
  for (const action of ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:OpenControlChannel']) {
    hostCall(action, action.startsWith('ssm:') ? `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0` : '*', { caller: 'SSM Agent on the host (instance role)' });
  }

  // ---- the weights key ------------------------------------------------------------------------------------------------
  for (const keyId of sim.idsOfType('AWS::KMS::Key').filter((k) => roleTag(sim, k) === 'weights-key')) {
    const key = sim.arn(keyId);
    const attested = (value: string) => ({ 'kms:RecipientAttestation:PCR8': value, 'kms:RecipientAttestation:ImageSha384': 'f'.repeat(96) });
    const enclave = 'kmstool_enclave_cli in the enclave (instance role, Recipient attestation)';
    const on = (principal: typeof host, caller: string, action: string, extra: Partial<DeployCallRow> = {}) =>
      add({ resourceId: keyId, resourceType: 'AWS::KMS::Key', operation: 'runtime', caller, principal, action, resource: key, ...extra });
    on(host, enclave, 'kms:Decrypt', { context: attested(pcr8) });
    on(host, 'root on the host (instance role)', 'kms:Decrypt', { expect: 'ExplicitlyDenied', byDesign: WEIGHTS_KEY_REFUSED_BY_DESIGN.noAttestation });
    on(host, 'a debug-mode enclave on the host (instance role)', 'kms:Decrypt', { context: attested('0'.repeat(96)), expect: 'ExplicitlyDenied', byDesign: WEIGHTS_KEY_REFUSED_BY_DESIGN.debugEnclave });
    on(host, 'another enclave image on the host (instance role)', 'kms:Decrypt', { context: attested('e'.repeat(96)), expect: 'ExplicitlyDenied', byDesign: WEIGHTS_KEY_REFUSED_BY_DESIGN.otherImage });
    on(host, 'root on the host (instance role)', 'kms:GenerateDataKey', { expect: 'ExplicitlyDenied', byDesign: WEIGHTS_KEY_REFUSED_BY_DESIGN.hostMakesKey });
    for (const action of ['kms:GenerateDataKey', 'kms:Encrypt']) on(sealer, 'the seal build (seal role)', action);
    on(sealer, 'the seal build (seal role)', 'kms:Decrypt', { expect: 'ExplicitlyDenied', byDesign: WEIGHTS_KEY_REFUSED_BY_DESIGN.sealerDecrypts });
  }
  return rows;
}

/** The markers around the enclave tier's table in docs/DEPLOYMENT.md. */
export const ENCLAVE_DOC_START = '<!-- enclave-calls:start (generated by scripts/deployment-doc.ts from test/helpers/enclave-calls.ts; do not edit) -->';
export const ENCLAVE_DOC_END = '<!-- enclave-calls:end -->';

/** How the enclave tier's table is introduced. */
export const enclaveTableOptions = {
  example: 'enclave-serving',
  testFile: 'test/aws/enclave-deploy-calls.test.ts',
  refusedLead: 'calls are refused by design, whatever the caller\'s own IAM policy says:',
};
