/**
 * CloudFormation intrinsic functions written as the resource they come from, for documents a person reads before
 * CloudFormation resolves them: `{"Ref": "StoreBucket1234"}` becomes `${StoreBucket1234}`, `{"Fn::GetAtt":
 * ["CiKey5678", "Arn"]}` becomes `${CiKey5678.Arn}`, and `Fn::Join` joins the rendered parts. The notation is
 * `Fn::Sub`'s, so a rendered string names exactly the logical ID and attribute a stack output of the same resource
 * gives.
 *
 * Shared by the constructs (the trust policy and Kubernetes YAML written for review and GitOps) and the runtime
 * (`modelseal review` reads the manifests a template embeds). Dependency-free on purpose.
 *
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
 */

/** A value is an intrinsic when it is an object with exactly one key that is `Ref` or starts with `Fn::`. */
function intrinsicName(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const k = keys[0];
  return k === 'Ref' || k.startsWith('Fn::') ? k : undefined;
}

/** Renders one intrinsic (or plain value) as text; plain scalars are stringified as CloudFormation would join them. */
export function renderIntrinsicText(value: unknown): string {
  const name = intrinsicName(value);
  if (name === undefined) {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return JSON.stringify(renderIntrinsics(value));
  }
  const arg = (value as Record<string, unknown>)[name];
  switch (name) {
    case 'Ref':
      return `\${${String(arg)}}`;
    case 'Fn::GetAtt': {
      const parts = Array.isArray(arg) ? arg.map((a) => renderIntrinsicText(a)) : String(arg).split('.');
      return `\${${parts.join('.')}}`;
    }
    case 'Fn::Join': {
      if (Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string' && Array.isArray(arg[1])) {
        return arg[1].map((p) => renderIntrinsicText(p)).join(arg[0]);
      }
      break;
    }
    case 'Fn::Sub': {
      if (typeof arg === 'string') return arg;
      if (Array.isArray(arg) && typeof arg[0] === 'string' && arg[1] && typeof arg[1] === 'object') {
        const vars = arg[1] as Record<string, unknown>;
        return arg[0].replace(/\$\{([^}!]+)\}/g, (m, v: string) => (v in vars ? renderIntrinsicText(vars[v]) : m));
      }
      break;
    }
    case 'Fn::Select': {
      if (Array.isArray(arg) && arg.length === 2 && Array.isArray(arg[1])) {
        const i = Number(typeof arg[0] === 'string' || typeof arg[0] === 'number' ? arg[0] : NaN);
        if (Number.isInteger(i) && i >= 0 && i < arg[1].length) return renderIntrinsicText(arg[1][i]);
      }
      break;
    }
  }
  return `\${${name}(${JSON.stringify(renderIntrinsics(arg))})}`;
}

/**
 * Renders every intrinsic in a JSON value as text (see {@link renderIntrinsicText}); everything else is copied.
 */
export function renderIntrinsics(value: unknown): unknown {
  if (intrinsicName(value) !== undefined) return renderIntrinsicText(value);
  if (Array.isArray(value)) return value.map((v) => renderIntrinsics(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderIntrinsics(v)]));
  }
  return value;
}

/** The `${LogicalId.Attribute}` / `${LogicalId}` references in a rendered string, in order of appearance. */
export function renderedReferences(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Za-z0-9]+(?:\.[A-Za-z0-9.]+)?|AWS::[A-Za-z]+)\}/g)].map((m) => m[1]);
}
