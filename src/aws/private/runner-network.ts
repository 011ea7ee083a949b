import { Aws, Names } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53resolver from 'aws-cdk-lib/aws-route53resolver';
import { Construct } from 'constructs';

/** The regional AWS service names the runner's builds resolve, for the DNS Firewall's allow list. */
export interface RunnerDnsNames {
  /** The Signer endpoint is used (servingImageSigning). */
  readonly signer: boolean;
  /** The host of the RFC 3161 timestamp authority, when one is configured. */
  readonly timestampHost?: string;
}

/**
 * The domain names the builds resolve, nothing else: the regional names of the services they call through the VPC
 * endpoints (private DNS), the S3 gateway names (buckets are virtual-hosted, so `*.s3.<region>`), and the ECR
 * registry hosts (`<account>.dkr.ecr.<region>`).
 */
export function runnerDomainNames(names: RunnerDnsNames): string[] {
  const r = Aws.REGION;
  return [
    `kms.${r}.amazonaws.com`,
    `logs.${r}.amazonaws.com`,
    `sts.${r}.amazonaws.com`,
    `codebuild.${r}.amazonaws.com`,
    `api.ecr.${r}.amazonaws.com`,
    `*.dkr.ecr.${r}.amazonaws.com`,
    `s3.${r}.amazonaws.com`,
    `*.s3.${r}.amazonaws.com`,
    ...(names.signer ? [`signer.${r}.amazonaws.com`] : []),
    ...(names.timestampHost ? [names.timestampHost] : []),
  ];
}

/**
 * A Route 53 Resolver DNS Firewall on a VPC: allow the names the builds need, block every other name with NXDOMAIN.
 * Isolated subnets have no route out, but the VPC resolver still forwards queries to the internet, which is enough to
 * tunnel data out inside DNS names; this closes that path.
 *
 * @see https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-dns-firewall.html
 */
export class RunnerDnsFirewall extends Construct {
  /** The rule group associated with the VPC. */
  public readonly ruleGroup: route53resolver.CfnFirewallRuleGroup;

  constructor(scope: Construct, id: string, vpc: ec2.IVpc, domains: string[]) {
    super(scope, id);
    const allowed = new route53resolver.CfnFirewallDomainList(this, 'Allowed', { domains });
    const everything = new route53resolver.CfnFirewallDomainList(this, 'Everything', { domains: ['*'] });
    this.ruleGroup = new route53resolver.CfnFirewallRuleGroup(this, 'Resource', {
      firewallRules: [
        { priority: 100, action: 'ALLOW', firewallDomainListId: allowed.attrId },
        { priority: 200, action: 'BLOCK', blockResponse: 'NXDOMAIN', firewallDomainListId: everything.attrId },
      ],
    });
    new route53resolver.CfnFirewallRuleGroupAssociation(this, 'Association', {
      firewallRuleGroupId: this.ruleGroup.attrId,
      vpcId: vpc.vpcId,
      priority: 101,
      mutationProtection: 'ENABLED',
      name: Names.uniqueResourceName(this, { maxLength: 64, separator: '-' }),
    });
  }
}
