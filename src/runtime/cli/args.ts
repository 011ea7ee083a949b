/**
 * Command-line parsing on Node's `util.parseArgs`: `--flag value`, `--flag=value`, boolean, negatable and repeatable
 * flags, positionals, `--` and `-h`. parseArgs tokenizes; this module maps ModelSeal's flag table onto it and turns
 * every mistake into a {@link UsageError} (exit 2) that names the flag and the command.
 *
 * Flag names are matched with `_` and `-` interchangeable, so the reference CLI's `--private_key` spelling works too.
 */
import { parseArgs as nodeParseArgs } from 'util';
import { UsageError } from '../codec/errors';

/** How one flag is parsed. */
export interface FlagSpec {
  /** `string` takes a value; `boolean` does not (`--no-<name>` sets it false when `negatable`). */
  readonly type: 'string' | 'boolean';
  /** May be given several times (values collect in order). */
  readonly multiple?: boolean;
  /** Accept `--no-<name>`. */
  readonly negatable?: boolean;
  /** Metavariable shown in help. */
  readonly metavar?: string;
  /** One-line help. */
  readonly help: string;
}

/** Parsed flags and positionals. */
export interface ParsedArgs {
  readonly flags: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

/**
 * Parses `argv` against `specs` with `util.parseArgs` (tokens mode).
 *
 * @param command names the command in errors
 * @throws UsageError for unknown flags, missing values, values given to boolean flags, or repeated single-value flags
 */
export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>, command: string): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = { type: spec.type, ...(name === 'help' ? { short: 'h' } : {}) };
    if (spec.negatable) {
      options[`no-${name}`] = { type: 'boolean' };
    }
  }
  const terminator = argv.indexOf('--');
  // `--private_key` is `--private-key`: only option names change, never values or anything after `--`.
  const args = argv.map((a, i) => (a.startsWith('--') && (terminator < 0 || i < terminator) ? a.replace(/^--[^=]*/, (n) => n.replace(/_/g, '-')) : a));
  // Not strict: unknown flags and missing values come back as tokens, so the errors below can name them exactly.
  const { tokens, positionals } = nodeParseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const valid = () => Object.keys(specs).map((k) => `--${k}`).join(', ');
  const flags: Record<string, string | boolean | string[] | undefined> = {};
  for (const t of tokens) {
    if (t.kind !== 'option') {
      continue;
    }
    const negated = !(t.name in specs) && t.name.startsWith('no-') && specs[t.name.slice(3)]?.negatable === true;
    const name = negated ? t.name.slice(3) : t.name;
    const spec = specs[name];
    if (!spec) {
      throw new UsageError(`${command}: unknown option ${t.rawName}; valid options: ${valid()}`);
    }
    if (spec.type === 'boolean') {
      if (t.value !== undefined) {
        throw new UsageError(`${command}: ${t.rawName} takes no value`);
      }
      flags[name] = !negated;
    } else if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) {
      throw new UsageError(`${command}: --${name} needs a value (${spec.metavar ?? 'VALUE'})`);
    } else if (spec.multiple) {
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), t.value];
    } else if (flags[name] !== undefined) {
      throw new UsageError(`${command}: --${name} given twice; it takes one value`);
    } else {
      flags[name] = t.value;
    }
  }
  return { flags, positionals };
}

/** Formats the option list of a help text. */
export function formatFlags(specs: Record<string, FlagSpec>): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = s.type === 'boolean'
      ? (s.negatable ? `--${name} / --no-${name}` : `--${name}`)
      : `--${name} ${s.metavar ?? 'VALUE'}${s.multiple ? ' (repeatable)' : ''}`;
    return [left, s.help] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`).join('\n');
}

/** Writes a command's help (synopsis, summary, options and an optional footer) to `out`; returns exit code 0. */
export function printHelp(
  out: { write(text: string): unknown }, synopsis: string, summary: string, specs: Record<string, FlagSpec>, footer?: string,
): number {
  out.write(`Usage: modelseal ${synopsis}\n\n${summary}\n\nOptions:\n${formatFlags(specs)}\n${footer ? `\n${footer}\n` : ''}`);
  return 0;
}

/**
 * Returns the one positional argument a command takes.
 *
 * @throws UsageError naming the command and what it got otherwise
 */
export function onePositional(args: ParsedArgs, command: string, name: string): string {
  if (args.positionals.length !== 1) {
    throw new UsageError(`${command} needs exactly one ${name}; got ${args.positionals.length ? args.positionals.join(' ') : 'none'}`);
  }
  return args.positionals[0];
}
