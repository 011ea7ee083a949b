import { Duration } from 'cdk8s';
import { IConstruct } from 'constructs';
import { checkDnsLabel, k8sPropError } from './util';
import { workloadApiGroups, WORKLOAD_KINDS, workloadResources } from './workload-rules';

/**
 * Checks an admission webhook timeout (1 to 30 whole seconds, the Kubernetes limits) that must leave room for the
 * verifier's deadline; returns it in seconds.
 */
export function checkWebhookTimeout(scope: IConstruct, type: string, prop: string, timeout: Duration, deadline: Duration): number {
  const ms = timeout.toMilliseconds();
  if (ms % 1000 !== 0 || ms < 1000 || ms > 30_000) {
    throw k8sPropError(scope, type, prop, `must be whole seconds between 1 and 30 (the Kubernetes webhook limits), got ${ms} ms`);
  }
  if (ms <= deadline.toMilliseconds()) {
    throw k8sPropError(scope, type, prop, `(${ms} ms) must exceed the verifier's deadline (${deadline.toMilliseconds()} ms), or the webhook times out before the verifier answers`);
  }
  return ms / 1000;
}

/**
 * A namespace selector that excludes `always` plus `exempt` by the `kubernetes.io/metadata.name` label (set by the API
 * server to the namespace's name; no user can change it).
 */
export function namespaceExclusion(scope: IConstruct, type: string, always: string[], exempt: string[] | undefined) {
  for (const ns of exempt ?? []) checkDnsLabel(scope, type, 'exemptNamespaces', ns);
  return {
    matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...new Set([...always, ...(exempt ?? [])])] }],
  };
}

/** Every namespace a policy excludes (for engines that take a list: Gatekeeper's `excludedNamespaces`). */
export function excludedNamespaces(scope: IConstruct, type: string, always: string[], exempt: string[] | undefined): string[] {
  return namespaceExclusion(scope, type, always, exempt).matchExpressions[0].values;
}

/** Admission rules (Kubernetes `RuleWithOperations` shape) for every model workload kind, CREATE and UPDATE. */
export function policyResourceRules() {
  return workloadApiGroups().map((apiGroup) => ({
    apiGroups: [apiGroup],
    apiVersions: [...new Set(WORKLOAD_KINDS.filter((k) => k.apiGroup === apiGroup).flatMap((k) => k.apiVersions))],
    operations: ['CREATE', 'UPDATE'],
    resources: workloadResources(apiGroup),
  }));
}
