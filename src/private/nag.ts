import { Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Flattens a resource value the way cdk-nag names its IAM5 findings (`<Logical.Arn>/prefix/*`).
 *
 * cdk-nag 3.x writes one finding per wildcard resource, `AwsSolutions-IAM5[Resource::<flattened>]`, and acknowledges
 * findings only by exact id; this mirrors its `flattenCfnReference` so a construct can acknowledge the wildcards it
 * creates on purpose, each with its reason. The library does not depend on cdk-nag at run time.
 */
export function flattenForNag(scope: IConstruct, value: string): string {
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
  return visit(Stack.of(scope).resolve(value));
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
