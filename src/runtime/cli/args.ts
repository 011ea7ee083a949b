/**
 * A small command-line parser: `--flag value`, `--flag=value`, boolean and repeatable flags, positionals.
 *
 * Flag names are matched with `_` and `-` interchangeable, so the reference CLI's `--private_key` spelling works too.
 */
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
 * Parses `argv` against `specs`.
 *
 * @param command names the command in errors
 * @throws UsageError for unknown flags, missing values, or repeated single-value flags
 */
export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>, command: string): ParsedArgs {
  const flags: Record<string, string | boolean | string[] | undefined> = {};
  const positionals: string[] = [];
  const valid = () => Object.keys(specs).map((k) => `--${k}`).join(', ');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg.length > 1 && arg !== '-h') {
        throw new UsageError(`${command}: unknown option ${arg}; valid options: ${valid()}`);
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const rawName = (eq >= 0 ? arg.slice(2, eq) : arg.slice(2)).replace(/_/g, '-');
    let name = rawName;
    let negated = false;
    if (!(name in specs) && name.startsWith('no-') && specs[name.slice(3)]?.negatable) {
      name = name.slice(3);
      negated = true;
    }
    const spec = specs[name];
    if (!spec) {
      throw new UsageError(`${command}: unknown option --${rawName}; valid options: ${valid()}`);
    }
    if (spec.type === 'boolean') {
      if (eq >= 0) {
        throw new UsageError(`${command}: --${rawName} takes no value`);
      }
      flags[name] = !negated;
      continue;
    }
    let value: string;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) {
        throw new UsageError(`${command}: --${name} needs a value (${spec.metavar ?? 'VALUE'})`);
      }
      value = argv[++i];
    }
    if (spec.multiple) {
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    } else if (flags[name] !== undefined) {
      throw new UsageError(`${command}: --${name} given twice; it takes one value`);
    } else {
      flags[name] = value;
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
