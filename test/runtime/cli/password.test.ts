import * as fs from 'fs';
import * as path from 'path';
import { PassThrough } from 'stream';
import { main } from '../../../src/runtime/cli/main';
import { keyPassword, readHiddenLine } from '../../../src/runtime/cli/password';
import { UsageError } from '../../../src/runtime/codec/errors';
import { cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';

/** A stdin that says it is a terminal and records raw mode. */
function fakeTty(): PassThrough & { isTTY: boolean; setRawMode: (m: boolean) => void; raw: boolean[] } {
  const t = Object.assign(new PassThrough(), { isTTY: true, raw: [] as boolean[] });
  return Object.assign(t, { setRawMode: (m: boolean) => t.raw.push(m) });
}

let dir: string;
let model: string;
let keyFile: string;
let sig: string;
const enc = ecKey('P-256', 'correct horse');

beforeEach(() => {
  dir = tempDir();
  model = makeModel(dir);
  keyFile = path.join(dir, 'k.pem');
  fs.writeFileSync(keyFile, enc.pem);
  sig = path.join(dir, 'model.sig');
});
afterEach(() => {
  delete process.env.MODELSEAL_KEY_PASSWORD;
  cleanup(dir);
});

async function sign(extra: string[], stdin?: PassThrough): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await main(['sign', 'key', model, '--signature', sig, '--private-key', keyFile, ...extra], {
    stdout: { write: () => true },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    ...(stdin ? { stdin } : {}),
  });
  return { code, stderr };
}

describe('key passwords', () => {
  test('from MODELSEAL_KEY_PASSWORD, with no warning', async () => {
    process.env.MODELSEAL_KEY_PASSWORD = 'correct horse';
    expect(await sign([])).toEqual({ code: 0, stderr: '' });
  });

  test('from --password-file (its first line), with no warning', async () => {
    const file = path.join(dir, 'pw');
    fs.writeFileSync(file, 'correct horse\n');
    expect(await sign(['--password-file', file])).toEqual({ code: 0, stderr: '' });
    fs.writeFileSync(file, 'wrong\n');
    const r = await sign(['--password-file', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/k\.pem: cannot decrypt the private key .*; check the password/);
    expect((await sign(['--password-file', path.join(dir, 'absent')])).stderr).toMatch(/cannot read --password-file .*absent/);
  });

  test('asked on the terminal when stdin is one, with nothing echoed', async () => {
    const tty = fakeTty();
    const pending = sign([], tty);
    setTimeout(() => tty.write('correct horsf\u007fe\r'), 20);
    const r = await pending;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`Password for ${keyFile}: \n`);
    expect(tty.raw).toEqual([true, false]);
  });

  test('without any source an encrypted key says how to give its password (exit 2)', async () => {
    const r = await sign([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is an encrypted private key; give its password in MODELSEAL_KEY_PASSWORD or with --password-file FILE/);
  });

  test('an unencrypted key is never prompted for', async () => {
    fs.writeFileSync(keyFile, ecKey('P-256').pem);
    const tty = fakeTty();
    expect(await keyPassword({ promptPassword: (q) => readHiddenLine(tty, { write: () => true }, q) }, keyFile)).toBeUndefined();
    expect(tty.raw).toEqual([]);
  });

  test('Ctrl-C cancels the prompt', async () => {
    const tty = fakeTty();
    const p = readHiddenLine(tty, { write: () => true }, '? ');
    tty.write('abc\u0003');
    await expect(p).rejects.toThrow(new UsageError('the password prompt was cancelled'));
  });
});
