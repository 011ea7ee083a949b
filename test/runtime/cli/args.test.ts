import { FlagSpec, onePositional, parseArgs } from '../../../src/runtime/cli/args';
import { UsageError } from '../../../src/runtime/codec/errors';

const SPECS: Record<string, FlagSpec> = {
  'private-key': { type: 'string', metavar: 'PEM', help: 'key' },
  'ignore-paths': { type: 'string', multiple: true, metavar: 'PATH', help: 'paths' },
  'ignore-git-paths': { type: 'boolean', negatable: true, help: 'git' },
  'json': { type: 'boolean', help: 'json' },
  'help': { type: 'boolean', help: 'help' },
};

function usage(argv: string[]): string {
  try {
    parseArgs(argv, SPECS, 'sign key');
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('parseArgs (util.parseArgs underneath)', () => {
  test('values, inline values, booleans, repeatable flags and positionals', () => {
    const a = parseArgs(['m', '--private-key', 'k.pem', '--ignore-paths=a', '--ignore-paths', 'b', '--json'], SPECS, 'x');
    expect(a.flags).toEqual({ 'private-key': 'k.pem', 'ignore-paths': ['a', 'b'], 'json': true });
    expect(a.positionals).toEqual(['m']);
  });

  test('negatable flags: --no-<name> sets false, the last one given wins', () => {
    expect(parseArgs(['--no-ignore-git-paths'], SPECS, 'x').flags['ignore-git-paths']).toBe(false);
    expect(parseArgs(['--no-ignore-git-paths', '--ignore-git-paths'], SPECS, 'x').flags['ignore-git-paths']).toBe(true);
  });

  test('_ and - are interchangeable in flag names, never in values or after --', () => {
    const a = parseArgs(['--private_key', 'my_key.pem', '--', '--not_a_flag'], SPECS, 'x');
    expect(a.flags['private-key']).toBe('my_key.pem');
    expect(a.positionals).toEqual(['--not_a_flag']);
    expect(parseArgs(['--private_key=a_b'], SPECS, 'x').flags['private-key']).toBe('a_b');
  });

  test('-h is --help; a value may start with a single dash', () => {
    expect(parseArgs(['-h'], SPECS, 'x').flags.help).toBe(true);
    expect(parseArgs(['--private-key', '-'], SPECS, 'x').flags['private-key']).toBe('-');
  });

  test.each([
    [['--bogus'], 'sign key: unknown option --bogus; valid options: --private-key, --ignore-paths, --ignore-git-paths, --json, --help'],
    [['-x'], 'sign key: unknown option -x; valid options: --private-key, --ignore-paths, --ignore-git-paths, --json, --help'],
    [['--no-json'], 'sign key: unknown option --no-json; valid options: --private-key, --ignore-paths, --ignore-git-paths, --json, --help'],
    [['--private-key'], 'sign key: --private-key needs a value (PEM)'],
    [['--private-key', '--json'], 'sign key: --private-key needs a value (PEM)'],
    [['--json=yes'], 'sign key: --json takes no value'],
    [['--private-key', 'a', '--private-key=b'], 'sign key: --private-key given twice; it takes one value'],
  ])('usage error for %j names the flag', (argv, message) => {
    expect(usage(argv)).toBe(message);
  });

  test('onePositional names the command and what it got', () => {
    expect(onePositional(parseArgs(['m'], SPECS, 'x'), 'digest', 'MODEL_PATH')).toBe('m');
    expect(() => onePositional(parseArgs(['a', 'b'], SPECS, 'x'), 'digest', 'MODEL_PATH')).toThrow('digest needs exactly one MODEL_PATH; got a b');
  });
});
