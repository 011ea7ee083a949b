/**
 * CEL conditions of a trust policy: compiled once when the policy loads, evaluated against each attestation's
 * predicate at check time.
 *
 * The expression sees one variable, `predicate` (the attestation's in-toto predicate as JSON data: numbers are CEL
 * doubles, objects are maps). A condition passes only when it evaluates to exactly `true`; any other value and any
 * runtime error (a missing field, a type mismatch) fails it, so a condition can never pass by accident.
 */
import type { Environment, ParseResult } from '@marcbachmann/cel-js' with { 'resolution-mode': 'import' };

type CelModule = typeof import('@marcbachmann/cel-js', { with: { 'resolution-mode': 'import' } });

/** The single variable CEL conditions see. */
export const CEL_PREDICATE_VARIABLE = 'predicate';

/** A compiled CEL condition. */
export interface CelProgram {
  /** The expression as written. */
  readonly expression: string;
  /**
   * Evaluates the expression with `predicate` bound to `predicate`.
   *
   * Never throws: a runtime error or a non-boolean result is a failed condition, with the reason.
   */
  evaluate(predicate: unknown): CelOutcome;
}

/** The result of one evaluation. */
export interface CelOutcome {
  /** True only when the expression evaluated to the boolean `true`. */
  readonly passed: boolean;
  /** Why it failed (the CEL error, or the value it produced instead of true); undefined when it passed. */
  readonly error?: string;
}

/** Compilation result: a program, or the reason the expression is not valid. */
export type CelCompileResult =
  | { readonly ok: true; readonly program: CelProgram }
  | { readonly ok: false; readonly error: string };

let celModule: Promise<CelModule> | undefined;
let environment: Environment | undefined;

/**
 * Loads the CEL implementation (an ES module, hence the dynamic import from this CommonJS code) and returns the
 * shared environment. Safe to call repeatedly.
 */
async function celEnvironment(): Promise<Environment> {
  if (environment) {
    return environment;
  }
  // eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
  celModule ??= import('@marcbachmann/cel-js');
  const cel = await celModule;
  // Only `predicate` is declared: a typo such as `predicat.x` is a compile error, not a runtime surprise.
  environment ??= new cel.Environment({ unlistedVariablesAreDyn: false }).registerVariable(CEL_PREDICATE_VARIABLE, 'dyn');
  return environment;
}

/**
 * Parses and type-checks a CEL condition.
 *
 * Fails when the expression does not parse, uses a variable other than `predicate`, or has a static type that can
 * never be a boolean (e.g. `size(predicate.x)`).
 */
export async function compileCel(expression: string): Promise<CelCompileResult> {
  const env = await celEnvironment();
  let parsed: ParseResult;
  try {
    parsed = env.parse(expression);
  } catch (e) {
    return { ok: false, error: oneLine(e) };
  }
  let checked;
  try {
    checked = env.check(expression);
  } catch (e) {
    return { ok: false, error: oneLine(e) };
  }
  if (!checked.valid) {
    return { ok: false, error: oneLine(checked.error) };
  }
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return { ok: false, error: `the expression has type ${checked.type}; a condition must evaluate to a bool` };
  }
  return {
    ok: true,
    program: {
      expression,
      evaluate(predicate: unknown): CelOutcome {
        let value: unknown;
        try {
          value = parsed({ [CEL_PREDICATE_VARIABLE]: predicate });
        } catch (e) {
          return { passed: false, error: oneLine(e) };
        }
        if (value === true) {
          return { passed: true };
        }
        if (value instanceof Promise) {
          // No asynchronous functions are registered; a promise here would mean the environment was changed.
          value.catch(() => undefined);
          return { passed: false, error: 'the expression evaluated asynchronously, which conditions do not support' };
        }
        return { passed: false, error: `evaluated to ${describeValue(value)}, not true` };
      },
    },
  };
}

/**
 * CEL error messages carry a multi-line caret diagram; reports need one line, so the diagram's source line and
 * column are folded into the message.
 */
function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const lines = msg.split('\n');
  const head = lines[0].trim();
  const caretLine = lines.findIndex((l) => /^\s*\^\s*$/.test(l));
  if (caretLine > 0) {
    const src = lines[caretLine - 1];
    const m = /^>\s+(\d+)\s\|\s/.exec(src);
    if (m) {
      const column = lines[caretLine].indexOf('^') - m[0].length + 1;
      return `${head} (line ${m[1]}, column ${column})`;
    }
  }
  return head;
}

function describeValue(v: unknown): string {
  if (typeof v === 'bigint') {
    return `${v} (int)`;
  }
  if (v === null || v === undefined) {
    return 'null';
  }
  if (typeof v === 'string') {
    return JSON.stringify(v);
  }
  if (typeof v === 'object') {
    return Array.isArray(v) ? 'a list' : 'a map';
  }
  return String(v);
}
