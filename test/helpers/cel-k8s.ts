/**
 * Evaluates the CEL of an admission policy (variables in order, then validations) with a real CEL implementation
 * (`@marcbachmann/cel-js`), the way the API server, Kyverno and Gatekeeper do: a validation passes only when it is
 * exactly `true`; an evaluation error counts as a refusal (every ModelSeal policy has `failurePolicy: Fail`).
 *
 * Kyverno's CEL `http` library is provided as a mock: `http.Client(caPEM)` returns a client whose `Post(url, body,
 * headers)` / `Get(url, headers)` call the test's handler, which returns the response in the shape under test.
 */
import type { Environment } from '@marcbachmann/cel-js' with { 'resolution-mode': 'import' };

/** What a mocked HTTP call receives. */
export interface HttpCall {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly caPem: string;
  readonly body?: any;
  readonly headers?: any;
}

/** Returns the value Kyverno's `http.*` would return, or throws (a transport error). */
export type HttpHandler = (call: HttpCall) => any;

/** The outcome of one policy evaluation. */
export interface PolicyOutcome {
  /** True when every validation was exactly true. */
  readonly admitted: boolean;
  /** The message of every failed validation (messageExpression when it evaluates, else message). */
  readonly messages: string[];
  /** Every HTTP call made. */
  readonly calls: HttpCall[];
}

class HttpLib {}
class HttpClient {
  constructor(readonly caPem: string) {}
}

/** Verifier answers in the shapes Kyverno hands them to CEL. */
export const KyvernoResponse = {
  /** Live admission: a JSON object body flattened, with `statusCode` added. */
  live: (statusCode: number, body: Record<string, unknown>) => ({ ...body, statusCode: BigInt(statusCode) }),
  /** `kyverno test` (`apiCallResponses`): `{body, statusCode}`. */
  cli: (statusCode: number, body: unknown) => ({ body, statusCode: BigInt(statusCode) }),
};

async function environment(handler: HttpHandler, calls: HttpCall[]): Promise<Environment> {
  const cel = await import('@marcbachmann/cel-js');
  const record = (call: HttpCall) => {
    calls.push(call);
    return handler(call);
  };
  return new cel.Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false })
    .registerType('HttpLib', HttpLib)
    .registerType('HttpClient', HttpClient)
    .registerVariable('http', 'HttpLib')
    .registerFunction({
      name: 'Client',
      receiverType: 'HttpLib',
      returnType: 'HttpClient',
      params: [{ name: 'ca', type: 'string' }],
      handler: (_lib: HttpLib, ca: string) => new HttpClient(ca),
    })
    .registerFunction({
      name: 'Post',
      receiverType: 'HttpClient',
      returnType: 'dyn',
      params: [{ name: 'url', type: 'string' }, { name: 'body', type: 'dyn' }, { name: 'headers', type: 'dyn' }],
      handler: (c: HttpClient, url: string, body: any, headers: any) => record({ method: 'POST', url, caPem: c.caPem, body, headers }),
    })
    .registerFunction({
      name: 'Get',
      receiverType: 'HttpClient',
      returnType: 'dyn',
      params: [{ name: 'url', type: 'string' }, { name: 'headers', type: 'dyn' }],
      handler: (c: HttpClient, url: string, headers: any) => record({ method: 'GET', url, caPem: c.caPem, headers }),
    })
    // Kyverno's image-verification function (ImageValidatingPolicy): the mock answers from the test's handler
    .registerFunction({
      name: 'verifyImageSignatures',
      returnType: 'int',
      params: [{ name: 'image', type: 'string' }, { name: 'attestors', type: 'list' }],
      handler: (image: string, attestors: any[]) => BigInt(record({ method: 'GET', url: `image:${image}`, caPem: '', body: attestors }) ? 1 : 0),
    });
}

/** The policy parts the evaluator reads. */
export interface CelPolicy {
  readonly variables?: { name: string; expression: string }[];
  readonly validations: { expression: string; message?: string; messageExpression?: string }[];
}

/**
 * Evaluates `policy` against `object` (the admission request's object) with `http` answered by `handler`.
 *
 * @param extra more root variables (`request`, `images`, `attestors`, ...)
 */
export async function evaluatePolicy(policy: CelPolicy, object: any, handler: HttpHandler = () => {
  throw new Error('unexpected HTTP call');
}, extra: Record<string, unknown> = {}): Promise<PolicyOutcome> {
  const calls: HttpCall[] = [];
  const env = await environment(handler, calls);
  const variables: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  const context = () => ({ object, variables, http: new HttpLib(), request: { namespace: object?.metadata?.namespace ?? '', operation: 'CREATE' }, ...extra });
  for (const v of policy.variables ?? []) {
    try {
      variables[v.name] = await env.evaluate(v.expression, context());
    } catch (e) {
      // a variable that cannot be evaluated makes every expression that reads it fail (lazy in the API server)
      errors[v.name] = (e as Error).message;
    }
  }
  const messages: string[] = [];
  for (const val of policy.validations) {
    let passed = false;
    let error: string | undefined;
    const used = Object.keys(errors).find((name) => val.expression.includes(`variables.${name}`));
    if (used) {
      error = `variable ${used}: ${errors[used]}`;
    } else {
      try {
        passed = (await env.evaluate(val.expression, context())) === true;
      } catch (e) {
        error = (e as Error).message;
      }
    }
    if (passed) continue;
    let message = val.message ?? `failed expression: ${val.expression}`;
    if (error) {message = `error: ${error}`;} else if (val.messageExpression) {
      try {
        const m = await env.evaluate(val.messageExpression, context());
        if (typeof m === 'string' && m.trim() !== '') message = m;
      } catch {
        // like the API server: a failing messageExpression falls back to message
      }
    }
    messages.push(message);
  }
  return { admitted: messages.length === 0, messages, calls };
}
