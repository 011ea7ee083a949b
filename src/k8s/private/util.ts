import { Duration } from 'cdk8s';
import { IConstruct } from 'constructs';
import { propError } from '../../private/validation';

/** The error every cdk8s construct throws for a bad prop (same shape as the AWS constructs'). */
export const k8sPropError = propError;

/** Checks a Kubernetes DNS label (namespaces, object names of at most 63 characters). */
export function checkDnsLabel(scope: IConstruct, type: string, prop: string, value: string): void {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) {
    throw propError(scope, type, prop, `must be a DNS label (lowercase letters, digits and '-', at most 63), got '${value}'`);
  }
}

/** Checks that a PEM holds at least one certificate and nothing that looks like a private key. */
export function checkCaPem(scope: IConstruct, type: string, prop: string, pem: string): void {
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(pem)) {
    throw propError(scope, type, prop, `must be a PEM certificate (-----BEGIN CERTIFICATE-----), got '${pem.slice(0, 40)}...'`);
  }
  if (/PRIVATE KEY-----/.test(pem)) {
    throw propError(scope, type, prop, 'holds a private key: pass only the CA certificate, it is rendered into cluster objects');
  }
}

/** Checks a store URI the verifier understands. */
export function checkStoreUri(scope: IConstruct, type: string, prop: string, uri: string): void {
  // an AWS CDK token (the bucket name of a store defined in the app) resolves at deploy time
  if (uri.includes('${Token[')) return;
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$|^file:\/\/\/.+/.test(uri)) {
    throw propError(scope, type, prop, `must be s3://bucket[/prefix] or file:///path, got '${uri}'`);
  }
}

/** A duration as the CLI flags take it: whole seconds as `Ns`, anything else as `Nms`. */
export function durationFlag(d: Duration): string {
  const ms = d.toMilliseconds();
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Whole seconds a duration needs, rounded up. */
export function ceilSeconds(d: Duration): number {
  return Math.ceil(d.toMilliseconds() / 1000);
}

/** The pod-level part of the "restricted" Pod Security Standard. */
export function restrictedPodSecurityContext(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The container-level part of the "restricted" Pod Security Standard, with a read-only root filesystem. */
export function restrictedContainerSecurityContext(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
