/**
 * The three admission protocols over one decision: the Kubernetes `AdmissionReview` (`POST /validate`), the
 * Gatekeeper external-data `ProviderRequest` (`POST /gatekeeper`) and the small JSON API Kyverno's CEL `http.Post`
 * calls (`POST /kyverno`). Request and response bodies are documented with examples in docs/VERIFIER.md.
 *
 * Every function here answers; none throws for anything a client sent. A body that is not the protocol's request
 * is a {@link BadRequest} (HTTP 400 with a message); everything else is a decision, and a decision that could not
 * be made is a denial.
 */
import type { Decision } from './decision';
import { inspectWorkload, structuralReasons } from './workload';
import { DEFAULT_WORKLOAD_RULE_OPTIONS, WorkloadRuleOptions } from '../../shared/admission';
import { isJsonObject } from '../codec/json';

/** A request body the protocol cannot read: answered with HTTP 400 and `{error}`. */
export class BadRequest extends Error {
  public readonly statusCode = 400;
}

/** Decides one digest (the service's {@link DecisionEngine.decide} bound to the request's deadline). */
export type Decide = (digest: string) => Promise<Decision>;

/** What the log line of a decision records (never the request body). */
export interface DecisionLog {
  readonly digest?: string;
  readonly allowed: boolean;
  readonly reasons: string[];
  readonly uid?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly kind?: string;
  readonly operation?: string;
  readonly manifest?: string | null;
  readonly source: Decision['source'] | 'structural' | 'exempt' | 'not-a-model';
}

/** The answer to one request: the body to send and what to log. */
export interface ProtocolAnswer {
  readonly body: Record<string, unknown>;
  readonly logs: DecisionLog[];
}

/** `admission.k8s.io/v1`. */
export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
/** `externaldata.gatekeeper.sh/v1beta1`. */
export const GATEKEEPER_API_VERSION = 'externaldata.gatekeeper.sh/v1beta1';
/** Keys per ProviderRequest past which the request is refused (Gatekeeper sends one key per image or digest). */
export const MAX_PROVIDER_KEYS = 1000;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * `POST /validate`: an `AdmissionReview` v1 in, an `AdmissionReview` v1 out with the same `uid`.
 *
 * DELETE and CONNECT are allowed; a workload in an exempt namespace (the request's namespace, set by the API server)
 * is allowed without a model check; a workload that loads no model is allowed; a model workload is allowed only when
 * it passes the structural rules and its digest meets the policy. A denial lists every reason in `status.message`.
 *
 * @throws BadRequest for a body that is not an AdmissionReview v1 with a request uid
 */
export async function validate(body: unknown, decide: Decide, exemptNamespaces: ReadonlySet<string>,
  rules: WorkloadRuleOptions = DEFAULT_WORKLOAD_RULE_OPTIONS): Promise<ProtocolAnswer> {
  if (!isJsonObject(body)) {
    throw new BadRequest('the body is not a JSON object; expected an AdmissionReview (admission.k8s.io/v1)');
  }
  if (body.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview') {
    throw new BadRequest(`expected apiVersion ${ADMISSION_API_VERSION} and kind AdmissionReview, got apiVersion ${JSON.stringify(body.apiVersion)} and kind ${JSON.stringify(body.kind)}`);
  }
  const request = body.request;
  if (!isJsonObject(request) || typeof request.uid !== 'string' || request.uid === '') {
    throw new BadRequest('the AdmissionReview has no request.uid; expected the request the API server sends');
  }
  const uid = request.uid;
  const operation = str(request.operation) ?? '';
  const namespace = str(request.namespace) ?? str((request.object as { metadata?: { namespace?: unknown } } | undefined)?.metadata?.namespace);
  const name = str(request.name) ?? str((request.object as { metadata?: { name?: unknown } } | undefined)?.metadata?.name);
  const requestKind = str((request.kind as { kind?: unknown } | undefined)?.kind);
  const base = { uid, ...(namespace ? { namespace } : {}), ...(name ? { name } : {}), operation };
  const answer = (allowed: boolean, message: string, log: DecisionLog, warnings: string[] = []): ProtocolAnswer => ({
    body: {
      apiVersion: ADMISSION_API_VERSION,
      kind: 'AdmissionReview',
      response: {
        uid,
        allowed,
        status: { code: allowed ? 200 : 403, message },
        ...(warnings.length > 0 ? { warnings } : {}),
      },
    },
    logs: [log],
  });

  if (operation === 'DELETE' || operation === 'CONNECT') {
    return answer(true, `${operation} is not checked`, { ...base, allowed: true, reasons: [], source: 'not-a-model', ...(requestKind ? { kind: requestKind } : {}) });
  }
  // the namespace the API server put in the request, never the object's own metadata.namespace
  const requestNamespace = str(request.namespace);
  if (requestNamespace !== undefined && exemptNamespaces.has(requestNamespace)) {
    return answer(true, `namespace ${requestNamespace} is exempt from model checks (verifier configuration)`,
      { ...base, allowed: true, reasons: [], source: 'exempt', ...(requestKind ? { kind: requestKind } : {}) },
      [`modelseal: namespace ${requestNamespace} is exempt from model checks`]);
  }
  if (!isJsonObject(request.object)) {
    const reason = `the AdmissionReview for ${operation || 'this operation'} carries no request.object to check; failing closed`;
    return answer(false, `modelseal denied: ${reason}`, { ...base, allowed: false, reasons: [reason], source: 'structural' });
  }
  const workload = inspectWorkload(request.object);
  const kind = workload.kind || requestKind || '';
  const log = { ...base, ...(kind ? { kind } : {}) };
  const structural = structuralReasons(workload, rules);
  if (!workload.isModel && structural.length === 0) {
    return answer(true, `${kind || 'the object'} loads no model`, { ...log, allowed: true, reasons: [], source: 'not-a-model' });
  }
  const reasons = [...structural];
  let decision: Decision | undefined;
  if (workload.digest !== '' && !structural.some((r) => r.includes('must be sha256:'))) {
    // decided even when an image is unpinned, so the denial lists every reason at once
    decision = await decide(workload.digest);
    reasons.push(...decision.reasons);
  }
  const allowed = reasons.length === 0 && decision?.allowed === true;
  const digest = workload.digest || undefined;
  const entry: DecisionLog = {
    ...log,
    ...(digest ? { digest } : {}),
    allowed,
    reasons,
    manifest: decision?.manifest ?? null,
    source: decision && structural.length === 0 ? decision.source : 'structural',
  };
  if (allowed) {
    const warnings = workload.uri === undefined ? [`modelseal: ${kind} names no model location (modelseal.dev/model-uri)`] : [];
    return answer(true, `model ${digest} meets the trust policy${decision?.manifest ? ` (manifest ${decision.manifest})` : ''}`, entry, warnings);
  }
  return answer(false, `modelseal denied ${kind}${name ? ` ${name}` : ''}: ${reasons.join('; ')}`, entry);
}

/**
 * `POST /gatekeeper`: a Gatekeeper external-data `ProviderRequest` in, a `ProviderResponse` out, one item per key.
 *
 * An allowed key gets `value: {allowed: true, manifest}`; a denied or malformed key gets `error` with every reason
 * joined by `; `. `systemError` is set only when the verifier cannot decide at all (no policy loaded); then every
 * item carries the error too.
 *
 * @throws BadRequest for a body that is not a ProviderRequest with a list of string keys
 */
export async function gatekeeper(body: unknown, decide: Decide, systemError: () => string | undefined): Promise<ProtocolAnswer> {
  if (!isJsonObject(body)) {
    throw new BadRequest(`the body is not a JSON object; expected a ProviderRequest (${GATEKEEPER_API_VERSION})`);
  }
  if (body.apiVersion !== GATEKEEPER_API_VERSION || body.kind !== 'ProviderRequest') {
    throw new BadRequest(`expected apiVersion ${GATEKEEPER_API_VERSION} and kind ProviderRequest, got apiVersion ${JSON.stringify(body.apiVersion)} and kind ${JSON.stringify(body.kind)}`);
  }
  const keys = (body.request as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) {
    throw new BadRequest('request.keys must be a list of strings (sha256:<root digest> each)');
  }
  if (keys.length > MAX_PROVIDER_KEYS) {
    throw new BadRequest(`request.keys lists ${keys.length} keys; at most ${MAX_PROVIDER_KEYS} per request`);
  }
  const system = systemError();
  const decisions = await Promise.all((keys as string[]).map((k) => decide(k)));
  const items = decisions.map((d, i) => (d.allowed
    ? { key: keys[i], value: { allowed: true, manifest: d.manifest } }
    : { key: keys[i], error: d.reasons.join('; ') }));
  return {
    body: {
      apiVersion: GATEKEEPER_API_VERSION,
      kind: 'ProviderResponse',
      response: { idempotent: true, items, ...(system !== undefined ? { systemError: system } : {}) },
    },
    logs: decisions.map((d, i) => ({ digest: keys[i] as string, allowed: d.allowed, reasons: d.reasons, manifest: d.manifest, source: d.source })),
  };
}

/**
 * `POST /kyverno`: `{"digest": "sha256:<root>"}` in (with optional `namespace`, `name`, `kind` for the log), and
 * always `{"allowed", "reasons", "manifest", "policy"}` out, never a top-level `body` or `statusCode` (Kyverno's CEL
 * flattens a JSON object body and adds `statusCode`).
 *
 * @throws BadRequest for a body that is not a JSON object
 */
export async function kyverno(body: unknown, decide: Decide, policy: () => string | null): Promise<ProtocolAnswer> {
  if (!isJsonObject(body)) {
    throw new BadRequest('the body is not a JSON object; expected {"digest": "sha256:<root digest>"}');
  }
  const digest = body.digest;
  const logged = {
    ...(str(body.namespace) ? { namespace: str(body.namespace)! } : {}),
    ...(str(body.name) ? { name: str(body.name)! } : {}),
    ...(str(body.kind) ? { kind: str(body.kind)! } : {}),
  };
  if (typeof digest !== 'string') {
    const reason = `the request has no "digest" string (got ${digest === undefined ? 'none' : JSON.stringify(digest)}); expected {"digest": "sha256:<root digest>"}`;
    return {
      body: { allowed: false, reasons: [reason], manifest: null, policy: policy() },
      logs: [{ ...logged, allowed: false, reasons: [reason], source: 'structural' }],
    };
  }
  const d = await decide(digest);
  return {
    body: { allowed: d.allowed, reasons: d.reasons, manifest: d.manifest, policy: d.policy ?? policy() },
    logs: [{ ...logged, digest, allowed: d.allowed, reasons: d.reasons, manifest: d.manifest, source: d.source }],
  };
}
