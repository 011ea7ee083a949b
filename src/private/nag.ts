import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/**
 * Flattens a resource value the way cdk-nag names its IAM5 findings (`<Logical.Arn>/prefix/*`).
 *
 * cdk-nag 3.x writes one finding per wildcard resource, `AwsSolutions-IAM5[Resource::<flattened>]`, and acknowledges
 * findings only by exact id; this mirrors its `flattenCfnReference` so a construct can acknowledge the wildcards it
 * creates on purpose, each with its reason. The library does not depend on cdk-nag at run time.
 */
export function flattenForNag(scope: IConstruct, value: string): string {
  return flattenResolved(Stack.of(scope).resolve(value));
}

/** {@link flattenForNag} on an already resolved value. */
export function flattenResolved(resolved: unknown): string {
  const visit = (node: any): string => {
    if (node === undefined) return '';
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
    if (node['Fn::Join']) {
      const [delimiter, items] = node['Fn::Join'];
      return items.map(visit).join(delimiter);
    }
    if (node['Fn::Sub']) return visit(node['Fn::Sub']);
    if (node['Fn::GetAtt']) return `<${visit(node['Fn::GetAtt'][0])}.${visit(node['Fn::GetAtt'][1])}>`;
    if (node['Fn::ImportValue']) return visit(node['Fn::ImportValue']);
    if (node.Ref) return `<${visit(node.Ref)}>`;
    return JSON.stringify(node);
  };
  return visit(resolved);
}

/**
 * Acknowledges the cdk-nag `AwsSolutions-IAM5` finding of each wildcard resource on `policy`, with one reason.
 */
export function acknowledgeWildcardResources(policy: IConstruct, resources: string[], reason: string): void {
  const acks = resources
    .map((r) => flattenForNag(policy, r))
    .filter((r) => r.includes('*'))
    .map((r) => ({ id: `AwsSolutions-IAM5[Resource::${r}]`, reason }));
  if (acks.length > 0) Validations.of(policy).acknowledge(...acks);
}

/**
 * Acknowledges the cdk-nag findings on what aws-eks-v2 generates for a cluster the pipeline creates: the AWS managed
 * policies EKS and Lambda require on its roles and the wildcard of the kubectl provider's invoke grant (each by its
 * exact finding id, so a managed policy or wildcard added later is still reported), the kubectl functions' Lambda
 * rules, and the NAT subnets' route of the cluster VPC, each with its reason.
 */
export function acknowledgeClusterFindings(cluster: IConstruct, vpc?: IConstruct): void {
  const stack = Stack.of(cluster);
  for (const c of cluster.node.findAll()) {
    if (CfnResource.isCfnResource(c) && c.cfnResourceType === 'AWS::IAM::Role') {
      const arns = [stack.resolve((c as iam.CfnRole).managedPolicyArns) ?? []].flat();
      const ids = arns.map((a: unknown) => `AwsSolutions-IAM4[Policy::${flattenResolved(a)}]`);
      if (ids.length > 0) {
        Validations.of(c).acknowledge(...ids.map((id: string) => ({
          id, reason: 'EKS requires its AWS managed policies on the cluster and node roles, and Lambda its basic and VPC execution roles for the kubectl functions (aws-eks-v2).',
        })));
      }
    }
    if (CfnResource.isCfnResource(c) && c.cfnResourceType === 'AWS::IAM::Policy') {
      const doc = stack.resolve((c as iam.CfnPolicy).policyDocument) as { Statement?: { Resource?: unknown }[] };
      const wild = (doc.Statement ?? []).flatMap((st) => [st.Resource ?? []].flat()).map(flattenResolved).filter((r) => r.includes('*'));
      if (wild.length > 0) {
        Validations.of(c).acknowledge(...wild.map((r) => ({
          id: `AwsSolutions-IAM5[Resource::${r}]`,
          reason: 'The kubectl provider framework invokes its one handler function in any version (the :* qualifier), as aws-eks-v2 generates it.',
        })));
      }
    }
  }
  Validations.of(cluster).acknowledge(
    { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'aws-eks-v2 writes the kubectl handler and provider roles as inline policies naming the cluster and the handler only.' },
    { id: 'NIST.800.53.R5-LambdaConcurrency', reason: 'The kubectl handler runs only during CloudFormation deployments, one resource at a time; a reserved concurrency would only add a deploy failure mode.' },
    { id: 'NIST.800.53.R5-LambdaDLQ', reason: 'The kubectl handler is invoked synchronously by the CloudFormation provider framework, which reports every failure to the stack; there is no asynchronous event to dead-letter.' },
    { id: 'AwsSolutions-L1', reason: 'The kubectl handler runtime is chosen by aws-eks-v2 to match the kubectl layer it runs with.' },
    { id: 'CloudFormation-Validate::W9009', reason: 'aws-eks-v2 writes EncryptionConfig Resources: [secrets], which the EKS CreateCluster API still requires for secrets envelope encryption.' },
  );
  if (vpc) {
    Validations.of(vpc).acknowledge(
      { id: 'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW', reason: 'The public subnets hold only the NAT gateways; nodes and the kubectl handler run in private subnets and reach registries and Helm repositories through NAT.' },
      { id: 'NIST.800.53.R5-VPCDefaultSecurityGroupClosed', reason: 'Nothing uses the default security group: the cluster, nodes and handler get their own groups; closing it needs one more custom resource Lambda in the stack.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The flow log role\'s inline policy writes to this VPC\'s one flow log group only; a managed policy would be reused by nothing.' },
    );
  }
}

/** The ids CDK gives two stack-wide singleton helper functions: behind every `AwsCustomResource`, and the bucket-notification handler. */
const CDK_HELPER_SINGLETONS = ['AWS679f53fac002430cb0da5b7982bd2287', 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834'];

/** Acknowledges, on the stack's CDK helper singletons that exist, the findings every such deploy-time function has. */
export function acknowledgeCdkHelperFunctions(stack: Stack): void {
  for (const id of CDK_HELPER_SINGLETONS) {
    const fn = stack.node.tryFindChild(id);
    if (!fn) continue;
    Validations.of(fn).acknowledge(
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'CDK deploy-time helper function: it needs only its own CloudWatch log stream, which the AWS managed basic execution policy grants.' },
      { id: 'AwsSolutions-L1', reason: 'CDK deploy-time helper function whose runtime is chosen by aws-cdk-lib; it runs only during deployments.' },
      { id: 'NIST.800.53.R5-LambdaConcurrency', reason: 'CDK deploy-time helper function invoked only by CloudFormation during deployments.' },
      { id: 'NIST.800.53.R5-LambdaDLQ', reason: 'CDK deploy-time helper function invoked synchronously by CloudFormation, which reports its failures.' },
      { id: 'NIST.800.53.R5-LambdaInsideVPC', reason: 'CDK deploy-time helper function that calls only AWS control-plane APIs during deployments.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'CDK deploy-time helper function with a generated single-purpose policy.' },
    );
  }
}
