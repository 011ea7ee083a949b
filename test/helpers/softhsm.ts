/**
 * Real SoftHSM2 tokens for the PKCS#11 tests: a private SOFTHSM2_CONF and token directory per test file,
 * a token initialized with `softhsm2-util`, and EC (or RSA) key pairs generated on the token through pkcs11js.
 *
 * When SoftHSM2 or pkcs11js is missing, {@link describeWithSoftHsm} skips with a visible warning on a
 * developer machine and fails under CI (where `.ci/run` installs the `softhsm2` Debian package).
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { runInThisContext } from 'vm';
import { P256, P384 } from '../../src/runtime/codec/curves';
import { DEFAULT_MODULE_PATHS } from '../../src/runtime/signers/pkcs11';

/** A key pair to create on the token. */
export interface SoftHsmKeySpec {
  /** CKA_LABEL of both halves. */
  readonly label: string;
  /** CKA_ID of both halves. */
  readonly id: Buffer;
  /** Curve, or RSA-2048 to test the "not an EC key" error. */
  readonly kind: 'P-256' | 'P-384' | 'RSA';
  /** Leave out the public-key object (to test the missing-public-key error). */
  readonly noPublicObject?: boolean;
}

/** A ready SoftHSM2 token. */
export interface SoftHsmToken {
  /** The SoftHSM2 module. */
  readonly modulePath: string;
  /** Token label. */
  readonly label: string;
  /** User PIN. */
  readonly pin: string;
  /** Temp directory holding the config, the token store and PIN files. */
  readonly dir: string;
  /** A `pkcs11:` URI for one of the keys, with `pin-value` and `module-path` unless told otherwise. */
  uri(keyLabel: string, extra?: { pin?: string | null; query?: string }): string;
  /** Removes the temp directory and restores SOFTHSM2_CONF. */
  cleanup(): void;
}

/** Why SoftHSM2-backed tests cannot run here, or `undefined` when they can. */
export function softHsmUnavailableReason(): string | undefined {
  if (!DEFAULT_MODULE_PATHS.some((p) => p.includes('softhsm') && existsSync(p))) {
    return `libsofthsm2.so not found (looked in ${DEFAULT_MODULE_PATHS.filter((p) => p.includes('softhsm')).join(', ')}); install it with: apt-get install -y softhsm2`;
  }
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'pipe' });
  } catch {
    return 'softhsm2-util is not on PATH; install it with: apt-get install -y softhsm2';
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- probing the optional native module
    require('pkcs11js');
  } catch (e) {
    return `pkcs11js cannot be loaded (${(e as Error).message.split('\n')[0]}); run npm install (npm 11: npm install-scripts approve pkcs11js)`;
  }
  return undefined;
}

/**
 * `describe` that runs only when SoftHSM2 and pkcs11js are present.
 *
 * Missing prerequisites skip with a console warning locally, but fail under CI (`CI` set), so a broken
 * CI image cannot silently drop the HSM tests.
 */
export function describeWithSoftHsm(name: string, fn: () => void): void {
  const reason = softHsmUnavailableReason();
  if (reason === undefined) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      test('SoftHSM2 and pkcs11js are installed (required under CI)', () => {
        throw new Error(`PKCS#11 tests cannot run: ${reason}`);
      });
    });
    return;
  }
  // eslint-disable-next-line no-console
  console.warn(`Skipping "${name}": ${reason}`);
  describe.skip(name, fn);
}

/**
 * The process environment that native code sees.
 *
 * Jest gives each test file a copy of `process.env`; writes to it never reach the C environment that
 * libsofthsm2 reads SOFTHSM2_CONF from. Code run with `vm.runInThisContext` sees Node's own `process`.
 */
function nativeEnv(): NodeJS.ProcessEnv {
  return (runInThisContext('process') as NodeJS.Process).env;
}

/** The SoftHSM2 module on this machine. */
export function softHsmModulePath(): string {
  const found = DEFAULT_MODULE_PATHS.find((p) => p.includes('softhsm') && existsSync(p));
  if (!found) {
    throw new Error('libsofthsm2.so not found');
  }
  return found;
}

/** Percent-encodes every byte (RFC 7512 `id`). */
export function pctBytes(b: Buffer): string {
  return [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('');
}

/**
 * Creates a token in a fresh SoftHSM2 store and generates the given key pairs on it.
 *
 * Sets SOFTHSM2_CONF in the native environment (SoftHSM reads it in C_Initialize); {@link SoftHsmToken.cleanup}
 * restores it.
 */
export function createSoftHsmToken(options: { label: string; pin: string; keys: SoftHsmKeySpec[] }): SoftHsmToken {
  const modulePath = softHsmModulePath();
  const dir = mkdtempSync(join(tmpdir(), 'modelseal-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const previousConf = nativeEnv().SOFTHSM2_CONF;
  nativeEnv().SOFTHSM2_CONF = conf;
  process.env.SOFTHSM2_CONF = conf;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', options.label, '--pin', options.pin, '--so-pin', `so-${options.pin}`], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdio: 'pipe',
  });
  generateKeys(modulePath, options.label, options.pin, options.keys);

  return {
    modulePath,
    label: options.label,
    pin: options.pin,
    dir,
    uri(keyLabel, extra = {}) {
      const pin = extra.pin === undefined ? options.pin : extra.pin;
      const query = [`module-path=${modulePath}`];
      if (pin !== null) {
        query.push(`pin-value=${encodeURIComponent(pin)}`);
      }
      if (extra.query) {
        query.push(extra.query);
      }
      return `pkcs11:token=${encodeURIComponent(options.label)};object=${encodeURIComponent(keyLabel)};type=private?${query.join('&')}`;
    },
    cleanup() {
      for (const env of [nativeEnv(), process.env]) {
        if (previousConf === undefined) {
          delete env.SOFTHSM2_CONF;
        } else {
          env.SOFTHSM2_CONF = previousConf;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Generates key pairs on the token with its own pkcs11js instance, finalized before returning. */
function generateKeys(modulePath: string, label: string, pin: string, keys: SoftHsmKeySpec[]): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkcs11js = require('pkcs11js') as typeof import('pkcs11js');
  const p = new pkcs11js.PKCS11();
  p.load(modulePath);
  p.C_Initialize();
  try {
    const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === label);
    if (!slot) {
      throw new Error(`token ${label} not found after softhsm2-util --init-token`);
    }
    // eslint-disable-next-line no-bitwise -- session flags are a bit field
    const session = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p.C_Login(session, pkcs11js.CKU_USER, pin);
    for (const k of keys) {
      const common = [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_LABEL, value: k.label },
        { type: pkcs11js.CKA_ID, value: k.id },
      ];
      const priv = [
        ...common,
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_SIGN, value: true },
      ];
      let pair;
      if (k.kind === 'RSA') {
        pair = p.C_GenerateKeyPair(
          session,
          { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
          [
            ...common,
            { type: pkcs11js.CKA_VERIFY, value: true },
            { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 },
            { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
          ],
          priv,
        );
      } else {
        const curve = k.kind === 'P-256' ? P256 : P384;
        pair = p.C_GenerateKeyPair(
          session,
          { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
          [...common, { type: pkcs11js.CKA_VERIFY, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: curve.oidDer }],
          priv,
        );
      }
      if (k.noPublicObject) {
        p.C_DestroyObject(session, pair.publicKey);
      }
    }
    p.C_CloseSession(session);
  } finally {
    p.C_Finalize();
    p.close();
  }
}
