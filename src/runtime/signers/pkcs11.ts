/**
 * A signer backed by a PKCS#11 token: AWS CloudHSM, on-prem HSMs, smart cards, SoftHSM2 in tests.
 *
 * The native binding (`pkcs11js`) is optional and loaded only when this signer is opened, so the CLI
 * and the verifier run without it.
 */
import { createHash, verify as cryptoVerify, X509Certificate, type KeyObject } from 'crypto';
import { existsSync } from 'fs';
import { endianness } from 'os';
import { join } from 'path';
import { parsePkcs11Uri, readPinSource, redact, type Pkcs11Uri } from './pkcs11-uri';
import { curveOfKey, curveOfOid, P256, P384, type EcCurve } from '../codec/curves';
import { DER_TAG, ecPublicKeyFromPoint, rawEcdsaToDer, readTlv, type Tlv } from '../codec/der';
import { UsageError } from '../codec/errors';
import { keyHint } from '../engine/keys';
import type { Signer, VerificationMaterial } from '../engine/signer';

// PKCS#11 v2.40 constants. They are fixed by the standard, so they are written here rather than read
// from the binding: that keeps this file free of a compile-time dependency on pkcs11js.
const CKA_CLASS = 0x000;
const CKA_LABEL = 0x003;
const CKA_VALUE = 0x011;
const CKA_KEY_TYPE = 0x100;
const CKA_ID = 0x102;
const CKA_EC_PARAMS = 0x180;
const CKA_EC_POINT = 0x181;
const CKO_CERTIFICATE = 1;
const CKO_PUBLIC_KEY = 2;
const CKO_PRIVATE_KEY = 3;
const CKK_EC = 3;
const CKM_ECDSA = 0x1041;
const CKF_SERIAL_SESSION = 0x4;
const CKF_TOKEN_INITIALIZED = 0x400;
const CKU_USER = 1;

/** An attribute in a PKCS#11 template, as pkcs11js takes it. */
export interface Pkcs11Attribute {
  readonly type: number;
  readonly value?: number | boolean | string | Buffer;
}

/**
 * The subset of a pkcs11js `PKCS11` instance this signer calls.
 *
 * Declared here so the signer compiles and tests run without the native module, and so a test can
 * inject a fake loader.
 */
export interface Pkcs11Library {
  load(path: string): void;
  close(): void;
  C_Initialize(): void;
  C_Finalize(): void;
  C_GetInfo(): { manufacturerID: string; libraryDescription: string; libraryVersion: { major: number; minor: number } };
  C_GetSlotList(tokenPresent?: boolean): Buffer[];
  C_GetSlotInfo(slot: Buffer): { slotDescription: string; manufacturerID: string };
  C_GetTokenInfo(slot: Buffer): { label: string; manufacturerID: string; model: string; serialNumber: string; flags: number };
  C_OpenSession(slot: Buffer, flags: number): Buffer;
  C_CloseSession(session: Buffer): void;
  C_Login(session: Buffer, userType: number, pin?: string): void;
  C_FindObjectsInit(session: Buffer, template: Pkcs11Attribute[]): void;
  C_FindObjects(session: Buffer, maxObjectCount: number): Buffer[];
  C_FindObjectsFinal(session: Buffer): void;
  C_GetAttributeValue(session: Buffer, object: Buffer, template: Pkcs11Attribute[]): { type: number; value: Buffer }[];
  C_SignInit(session: Buffer, mechanism: { mechanism: number }, key: Buffer): void;
  C_Sign(session: Buffer, data: Buffer, out: Buffer): Buffer;
}

/** What `require('pkcs11js')` returns, as far as this signer uses it. */
export interface Pkcs11Binding {
  readonly PKCS11: new () => Pkcs11Library;
}

/** The command that installs the optional native binding, printed when it is missing. */
export const PKCS11JS_INSTALL_HINT =
  'npm install pkcs11js (it builds a native addon: needs python3, make and a C++ compiler; ' +
  'with npm 11 first allow its install script: npm install-scripts approve pkcs11js, or list it under "allowScripts")';

/**
 * Loads the pkcs11js binding, or throws a {@link UsageError} that says how to install it.
 *
 * The module name is held in a variable so bundlers leave the `require` alone: pkcs11js is a native addon
 * that must stay outside the esbuild bundle and be resolved from `node_modules` at run time.
 *
 * @param requireFn how to load a module; tests pass one that fails to simulate a missing pkcs11js.
 */
export function loadPkcs11js(requireFn: (id: string) => unknown = require): Pkcs11Binding {
  const name = 'pkcs11js';
  try {
    return requireFn(name) as Pkcs11Binding;
  } catch (e) {
    throw new UsageError(`the PKCS#11 signer needs the optional native module pkcs11js, which cannot be loaded (${firstLine(e)}). Install it: ${PKCS11JS_INSTALL_HINT}`);
  }
}

/**
 * Where the PKCS#11 module is looked for when the URI names none: SoftHSM2 on Debian/Ubuntu, Fedora/RHEL
 * and Homebrew, then the AWS CloudHSM client SDK 5.
 */
export const DEFAULT_MODULE_PATHS: readonly string[] = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/opt/homebrew/lib/softhsm/libsofthsm2.so',
  '/opt/cloudhsm/lib/libcloudhsm_pkcs11.so',
];

/** Directories searched for a `module-name`. */
const MODULE_DIRS: readonly string[] = [
  '/usr/lib/softhsm',
  '/usr/lib/x86_64-linux-gnu/softhsm',
  '/usr/lib/aarch64-linux-gnu/softhsm',
  '/usr/lib/x86_64-linux-gnu/pkcs11',
  '/usr/lib/aarch64-linux-gnu/pkcs11',
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64/pkcs11',
  '/usr/lib64',
  '/usr/lib/pkcs11',
  '/usr/lib',
  '/usr/local/lib/softhsm',
  '/usr/local/lib',
  '/opt/homebrew/lib/softhsm',
  '/opt/cloudhsm/lib',
];

/** Options for {@link Pkcs11Signer.open}. */
export interface Pkcs11SignerOptions {
  /** RFC 7512 URI naming the token and the private key, e.g. `pkcs11:token=build;object=model-signing?pin-source=/run/secrets/pin`. */
  readonly uri: string;
  /**
   * The user PIN when the URI carries neither `pin-value` nor `pin-source`.
   *
   * @default the `MODELSEAL_PKCS11_PIN` environment variable
   */
  readonly pin?: string;
  /**
   * Path of the PKCS#11 module when the URI carries neither `module-path` nor `module-name`.
   *
   * @default the first of {@link DEFAULT_MODULE_PATHS} that exists
   */
  readonly modulePath?: string;
  /**
   * Loads the pkcs11js binding; tests inject one to simulate a missing module.
   *
   * @default {@link loadPkcs11js}
   */
  readonly loader?: () => Pkcs11Binding;
}

/** An initialized PKCS#11 module shared by every signer that uses it in this process. */
interface LoadedModule {
  readonly lib: Pkcs11Library;
  refs: number;
}

/**
 * Modules by path. C_Initialize and C_Finalize act on the whole process, and closing the last session on a
 * token logs every session out, so two signers on one module (co-signing with two keys) must share one
 * initialization and finalize only when the last one closes.
 */
const modules = new Map<string, LoadedModule>();

/** First line of an error's message, for wrapping native errors. */
function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/** The CKR_* name in a pkcs11js error, if any. */
function ckr(e: unknown): string | undefined {
  return /CKR_[A-Z_]+/.exec(String((e as Error)?.message ?? ''))?.[0];
}

/** Reads a CK_ULONG attribute value (native byte order, 4 or 8 bytes). */
function readUlong(buf: Buffer): number {
  const le = endianness() === 'LE';
  if (buf.length === 8) {
    return Number(le ? buf.readBigUInt64LE(0) : buf.readBigUInt64BE(0));
  }
  if (buf.length === 4) {
    return le ? buf.readUInt32LE(0) : buf.readUInt32BE(0);
  }
  throw new Error(`unexpected CK_ULONG size ${buf.length}`);
}

/** Resolves which PKCS#11 module to load, or throws naming every place that was tried. */
export function resolveModulePath(uri: Pkcs11Uri, fallback?: string): string {
  if (uri.modulePath !== undefined) {
    if (!existsSync(uri.modulePath)) {
      throw new UsageError(`PKCS#11 module-path "${uri.modulePath}" does not exist`);
    }
    return uri.modulePath;
  }
  if (uri.moduleName !== undefined) {
    if (!/^[A-Za-z0-9._+-]+$/.test(uri.moduleName)) {
      throw new UsageError(`PKCS#11 module-name "${uri.moduleName}" must be a bare name like "softhsm2"; use module-path for a path`);
    }
    const names = [`lib${uri.moduleName}.so`, `${uri.moduleName}.so`, uri.moduleName, `lib${uri.moduleName}.dylib`];
    const tried = MODULE_DIRS.flatMap((d) => names.map((n) => join(d, n)));
    const found = tried.find((p) => existsSync(p));
    if (!found) {
      throw new UsageError(`PKCS#11 module-name "${uri.moduleName}" not found; tried ${tried.join(', ')}. Give module-path=/absolute/path.so instead`);
    }
    return found;
  }
  if (fallback !== undefined) {
    if (!existsSync(fallback)) {
      throw new UsageError(`PKCS#11 module "${fallback}" does not exist`);
    }
    return fallback;
  }
  const found = DEFAULT_MODULE_PATHS.find((p) => existsSync(p));
  if (!found) {
    throw new UsageError(
      `no PKCS#11 module found; tried ${DEFAULT_MODULE_PATHS.join(', ')}. ` +
        'Add module-path=/path/to/module.so to the pkcs11: URI (CloudHSM: /opt/cloudhsm/lib/libcloudhsm_pkcs11.so)',
    );
  }
  return found;
}

/** Loads and initializes a module, or takes another reference on one already initialized. */
function acquireModule(path: string, binding: Pkcs11Binding): Pkcs11Library {
  const existing = modules.get(path);
  if (existing) {
    existing.refs++;
    return existing.lib;
  }
  const lib = new binding.PKCS11();
  try {
    lib.load(path);
  } catch (e) {
    throw new UsageError(`cannot load PKCS#11 module "${path}": ${firstLine(e)}`);
  }
  try {
    lib.C_Initialize();
  } catch (e) {
    // Another copy of the binding in this process (a test helper, another library) may have initialized it.
    if (ckr(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      lib.close();
      throw new UsageError(`PKCS#11 module "${path}" failed to initialize: ${firstLine(e)}`);
    }
  }
  modules.set(path, { lib, refs: 1 });
  return lib;
}

/** Drops a reference; the last one finalizes and unloads the module. */
function releaseModule(path: string): void {
  const entry = modules.get(path);
  if (!entry) {
    return;
  }
  entry.refs--;
  if (entry.refs > 0) {
    return;
  }
  modules.delete(path);
  try {
    entry.lib.C_Finalize();
  } finally {
    entry.lib.close();
  }
}

/** Trims the blank padding PKCS#11 puts on fixed-width strings. */
function unpad(s: string): string {
  return s.replace(/[\s\0]+$/, '');
}

/** Describes an object selector (`object="x" id=%01`) for messages. */
function describeObject(uri: Pkcs11Uri): string {
  const parts: string[] = [];
  if (uri.object !== undefined) {
    parts.push(`object="${uri.object}"`);
  }
  if (uri.id !== undefined) {
    parts.push(`id=${[...uri.id].map((b) => '%' + b.toString(16).padStart(2, '0')).join('')}`);
  }
  return parts.join(' ');
}

/**
 * Signs with an EC private key on a PKCS#11 token.
 *
 * The PAE is hashed in Node and the digest signed with plain CKM_ECDSA: SoftHSM2 and several HSMs lack
 * CKM_ECDSA_SHA256/384, and hashing locally sends the token only 32 or 48 bytes whatever the PAE size.
 * PKCS#11 returns raw `r || s`; it is converted to DER. Each signature is checked against the token's
 * public key before it is returned, so a mismatched public-key object or a faulty token never yields a
 * bundle that fails to verify later.
 */
export class Pkcs11Signer implements Signer {
  /**
   * Opens a session on the token the URI names, logs in as the user and finds the key.
   *
   * @throws UsageError when pkcs11js or the module is missing, no token or key matches, the PIN is
   *   missing or wrong, or the key is not an EC key on P-256 or P-384.
   */
  public static async open(options: Pkcs11SignerOptions): Promise<Pkcs11Signer> {
    const uri = parsePkcs11Uri(options.uri);
    const shown = redact(options.uri);
    if (uri.type !== undefined && uri.type !== 'private') {
      throw new UsageError(`PKCS#11 URI ${shown} has type=${uri.type}; signing needs the private key (type=private or no type)`);
    }
    if (uri.object === undefined && uri.id === undefined) {
      throw new UsageError(`PKCS#11 URI ${shown} names no key; add object=<key label> or id=<%XX bytes>`);
    }
    const fromSource = uri.pinSource !== undefined ? readPinSource(uri.pinSource) : undefined;
    const pin = uri.pinValue ?? fromSource ?? options.pin ?? process.env.MODELSEAL_PKCS11_PIN;
    if (pin === undefined) {
      throw new UsageError(
        `no PIN for PKCS#11 URI ${shown}; add ?pin-source=/path/to/pin-file to the URI or set MODELSEAL_PKCS11_PIN ` +
          '(pin-value=<pin> works too but shows the PIN in the process list)',
      );
    }
    // The binding first: without it nothing else can work, and its error says how to install it.
    const binding = (options.loader ?? loadPkcs11js)();
    const modulePath = resolveModulePath(uri, options.modulePath);
    const lib = acquireModule(modulePath, binding);
    let session: Buffer | undefined;
    try {
      checkLibrary(lib, uri, modulePath);
      const { slot, label } = findToken(lib, uri, modulePath);
      session = lib.C_OpenSession(slot, CKF_SERIAL_SESSION);
      try {
        lib.C_Login(session, CKU_USER, pin);
      } catch (e) {
        const code = ckr(e);
        // Login state is per token and application: a second signer on the same token is already logged in.
        if (code !== 'CKR_USER_ALREADY_LOGGED_IN') {
          const why =
            code === 'CKR_PIN_INCORRECT' ? 'wrong PIN'
              : code === 'CKR_PIN_LOCKED' ? 'the PIN is locked (too many wrong attempts); the security officer must unlock it'
                : code === 'CKR_PIN_EXPIRED' ? 'the PIN has expired; change it first'
                  : code === 'CKR_PIN_LEN_RANGE' ? 'the PIN has a length the token does not accept'
                    : firstLine(e);
          throw new UsageError(`PKCS#11 login to token "${label}" failed: ${why} (${code ?? 'no CKR code'})`);
        }
      }
      const found = findKey(lib, session, uri, label);
      return new Pkcs11Signer(lib, modulePath, session, found.key, found.publicKey, found.curve);
    } catch (e) {
      if (session !== undefined) {
        try {
          lib.C_CloseSession(session);
        } catch {
          // The original error is the one worth reporting.
        }
      }
      releaseModule(modulePath);
      throw e;
    }
  }

  private closed = false;

  private constructor(
    private readonly lib: Pkcs11Library,
    private readonly modulePath: string,
    private readonly session: Buffer,
    private readonly key: Buffer,
    private readonly pub: KeyObject,
    /** The key's curve (P-256 or P-384); it decides the hash. */
    public readonly curve: EcCurve,
  ) {}

  /** The public key read from the token. */
  public async publicKey(): Promise<KeyObject> {
    return this.pub;
  }

  /** `{ publicKey: { hint } }` with the OMS key hint of the token's public key. */
  public async verificationMaterial(): Promise<VerificationMaterial> {
    return { publicKey: { hint: keyHint(this.pub) } };
  }

  /** Hashes `message` with the curve's hash and signs the digest on the token; returns DER. */
  public async sign(message: Buffer): Promise<Buffer> {
    if (this.closed) {
      throw new UsageError('the PKCS#11 signer is closed');
    }
    const digest = createHash(this.curve.hash).update(message).digest();
    let raw: Buffer;
    try {
      this.lib.C_SignInit(this.session, { mechanism: CKM_ECDSA }, this.key);
      raw = this.lib.C_Sign(this.session, digest, Buffer.alloc(2 * this.curve.size));
    } catch (e) {
      throw new UsageError(`PKCS#11 signing with CKM_ECDSA failed: ${firstLine(e)}`);
    }
    if (raw.length !== 2 * this.curve.size) {
      throw new Error(`PKCS#11 returned a ${raw.length}-byte ECDSA signature; ${this.curve.name} needs ${2 * this.curve.size} bytes (r || s)`);
    }
    const der = rawEcdsaToDer(raw);
    if (!cryptoVerify(this.curve.hash, message, this.pub, der)) {
      throw new Error('the PKCS#11 token produced a signature that does not verify with its public key; the public key object does not belong to the private key');
    }
    return der;
  }

  /** Closes the session; the last signer on a module finalizes and unloads it. Safe to call twice. */
  public async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    this.closed = true;
    try {
      this.lib.C_CloseSession(this.session);
    } finally {
      releaseModule(this.modulePath);
    }
  }
}

/** Checks the `library-*` attributes against C_GetInfo. */
function checkLibrary(lib: Pkcs11Library, uri: Pkcs11Uri, modulePath: string): void {
  if (uri.libraryManufacturer === undefined && uri.libraryDescription === undefined && uri.libraryVersion === undefined) {
    return;
  }
  const info = lib.C_GetInfo();
  const version = `${info.libraryVersion.major}.${info.libraryVersion.minor}`;
  const mismatches: string[] = [];
  if (uri.libraryManufacturer !== undefined && unpad(info.manufacturerID) !== uri.libraryManufacturer) {
    mismatches.push(`library-manufacturer is "${unpad(info.manufacturerID)}", not "${uri.libraryManufacturer}"`);
  }
  if (uri.libraryDescription !== undefined && unpad(info.libraryDescription) !== uri.libraryDescription) {
    mismatches.push(`library-description is "${unpad(info.libraryDescription)}", not "${uri.libraryDescription}"`);
  }
  if (uri.libraryVersion !== undefined) {
    // RFC 7512: a version without a minor part means minor 0.
    const [major, minor = '0'] = uri.libraryVersion.split('.');
    if (Number(major) !== info.libraryVersion.major || Number(minor) !== info.libraryVersion.minor) {
      mismatches.push(`library-version is ${version}, not ${uri.libraryVersion}`);
    }
  }
  if (mismatches.length > 0) {
    throw new UsageError(`PKCS#11 module "${modulePath}" does not match the URI: ${mismatches.join('; ')}`);
  }
}

/** Finds the one initialized token matching the URI's token and slot attributes. */
function findToken(lib: Pkcs11Library, uri: Pkcs11Uri, modulePath: string): { slot: Buffer; label: string } {
  const candidates: { slot: Buffer; label: string; desc: string }[] = [];
  const available: string[] = [];
  for (const slot of lib.C_GetSlotList(true)) {
    const info = lib.C_GetTokenInfo(slot);
    // eslint-disable-next-line no-bitwise -- CK_TOKEN_INFO.flags is a bit field
    if ((info.flags & CKF_TOKEN_INITIALIZED) === 0) {
      continue;
    }
    const slotId = readUlong(slot);
    const token = {
      label: unpad(info.label),
      manufacturer: unpad(info.manufacturerID),
      model: unpad(info.model),
      serial: unpad(info.serialNumber),
    };
    const desc = `"${token.label}" (slot-id=${slotId}, serial=${token.serial})`;
    available.push(desc);
    let slotInfo: { slotDescription: string; manufacturerID: string } | undefined;
    if (uri.slotDescription !== undefined || uri.slotManufacturer !== undefined) {
      slotInfo = lib.C_GetSlotInfo(slot);
    }
    const matches =
      (uri.token === undefined || uri.token === token.label) &&
      (uri.manufacturer === undefined || uri.manufacturer === token.manufacturer) &&
      (uri.model === undefined || uri.model === token.model) &&
      (uri.serial === undefined || uri.serial === token.serial) &&
      (uri.slotId === undefined || uri.slotId === slotId) &&
      (uri.slotDescription === undefined || uri.slotDescription === unpad(slotInfo!.slotDescription)) &&
      (uri.slotManufacturer === undefined || uri.slotManufacturer === unpad(slotInfo!.manufacturerID));
    if (matches) {
      candidates.push({ slot, label: token.label, desc });
    }
  }
  const wanted = [
    uri.token !== undefined ? `token="${uri.token}"` : '',
    uri.serial !== undefined ? `serial="${uri.serial}"` : '',
    uri.manufacturer !== undefined ? `manufacturer="${uri.manufacturer}"` : '',
    uri.model !== undefined ? `model="${uri.model}"` : '',
    uri.slotId !== undefined ? `slot-id=${uri.slotId}` : '',
    uri.slotDescription !== undefined ? `slot-description="${uri.slotDescription}"` : '',
    uri.slotManufacturer !== undefined ? `slot-manufacturer="${uri.slotManufacturer}"` : '',
  ].filter((s) => s !== '').join(' ') || '(any token)';
  if (candidates.length === 0) {
    throw new UsageError(
      `no PKCS#11 token matches ${wanted} in module "${modulePath}"; initialized tokens: ${available.length > 0 ? available.join(', ') : 'none'}`,
    );
  }
  if (candidates.length > 1) {
    throw new UsageError(
      `${candidates.length} PKCS#11 tokens match ${wanted} in module "${modulePath}": ${candidates.map((c) => c.desc).join(', ')}; ` +
        'add token=<label>, serial=<serial> or slot-id=<n> to the URI',
    );
  }
  return candidates[0];
}

/** Runs a C_FindObjects search and returns up to `max` handles. */
function findObjects(lib: Pkcs11Library, session: Buffer, template: Pkcs11Attribute[], max: number): Buffer[] {
  lib.C_FindObjectsInit(session, template);
  try {
    return lib.C_FindObjects(session, max);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

/** Template attributes selecting by the URI's label and id. */
function selector(uri: Pkcs11Uri): Pkcs11Attribute[] {
  const t: Pkcs11Attribute[] = [];
  if (uri.object !== undefined) {
    t.push({ type: CKA_LABEL, value: uri.object });
  }
  if (uri.id !== undefined) {
    t.push({ type: CKA_ID, value: uri.id });
  }
  return t;
}

/** Finds the private key, its curve and its public key (a public-key object, else a certificate). */
function findKey(lib: Pkcs11Library, session: Buffer, uri: Pkcs11Uri, token: string): { key: Buffer; publicKey: KeyObject; curve: EcCurve } {
  const what = describeObject(uri);
  const keys = findObjects(lib, session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }, ...selector(uri)], 2);
  if (keys.length === 0) {
    const labels = findObjects(lib, session, [{ type: CKA_CLASS, value: CKO_PRIVATE_KEY }], 50).map(
      (h) => `"${lib.C_GetAttributeValue(session, h, [{ type: CKA_LABEL }])[0].value.toString('utf8')}"`,
    );
    throw new UsageError(
      `no private key with ${what} on PKCS#11 token "${token}"; private keys there: ${labels.length > 0 ? labels.join(', ') : 'none'}`,
    );
  }
  if (keys.length > 1) {
    throw new UsageError(`more than one private key with ${what} on PKCS#11 token "${token}"; add id=<%XX bytes> to the URI`);
  }
  const key = keys[0];
  const [typeAttr, idAttr] = lib.C_GetAttributeValue(session, key, [{ type: CKA_KEY_TYPE }, { type: CKA_ID }]);
  const keyType = readUlong(typeAttr.value);
  if (keyType !== CKK_EC) {
    throw new UsageError(`the private key with ${what} on token "${token}" is not an EC key (CKA_KEY_TYPE ${keyType}); OMS signing needs ECDSA P-256 or P-384`);
  }
  const id = idAttr.value;
  // Asked for separately: tokens answer CKR_ATTRIBUTE_TYPE_INVALID for the whole template if one attribute is foreign.
  const ecParams = lib.C_GetAttributeValue(session, key, [{ type: CKA_EC_PARAMS }])[0].value;
  const curve = curveOfOid(ecParams);
  if (!curve || !PKCS11_CURVES.includes(curve)) {
    throw new UsageError(
      `the EC key with ${what} on token "${token}" is on an unsupported curve (CKA_EC_PARAMS ${ecParams.toString('hex')}); use P-256 or P-384`,
    );
  }

  // The public half: pair by CKA_ID (what pkcs11-tool and most HSM tools set), else by label.
  const pairing = id.length > 0 ? [{ type: CKA_ID, value: id }] : selector(uri);
  const pubs = findObjects(lib, session, [{ type: CKA_CLASS, value: CKO_PUBLIC_KEY }, ...pairing], 1);
  let publicKey: KeyObject;
  if (pubs.length === 1) {
    const [point, params] = lib.C_GetAttributeValue(session, pubs[0], [{ type: CKA_EC_POINT }, { type: CKA_EC_PARAMS }]);
    if (!params.value.equals(curve.oidDer)) {
      throw new UsageError(`the public key paired with ${what} on token "${token}" is on another curve than the private key`);
    }
    try {
      publicKey = ecPublicKeyFromPoint(ecPointFromAttribute(point.value, curve), curve);
    } catch (e) {
      throw new UsageError(`the public key paired with ${what} on token "${token}" is malformed: ${firstLine(e)}`);
    }
  } else {
    const certs = findObjects(lib, session, [{ type: CKA_CLASS, value: CKO_CERTIFICATE }, ...pairing], 1);
    if (certs.length === 0) {
      throw new UsageError(
        `PKCS#11 token "${token}" has the private key with ${what} but no public key or certificate with the same ` +
          `${id.length > 0 ? 'CKA_ID' : 'label'}; import the public key next to it`,
      );
    }
    const der = lib.C_GetAttributeValue(session, certs[0], [{ type: CKA_VALUE }])[0].value;
    publicKey = new X509Certificate(der).publicKey;
    if (curveOfKey(publicKey) !== curve) {
      throw new UsageError(`the certificate paired with ${what} on token "${token}" holds a key on another curve than the private key`);
    }
  }
  return { key, publicKey, curve };
}

/** The curves the PKCS#11 signer takes (from the codec's table). */
const PKCS11_CURVES: readonly EcCurve[] = [P256, P384];

/**
 * Extracts the EC point from a PKCS#11 CKA_EC_POINT value.
 *
 * PKCS#11 v2.20+ says the value is a DER OCTET STRING around the point, but some modules return the bare
 * point; both are accepted. The lengths tell them apart: a bare uncompressed point is exactly
 * `1 + 2 * size` bytes and starts with 0x04, which a DER OCTET STRING of that point never is.
 */
export function ecPointFromAttribute(value: Buffer, curve: EcCurve): Buffer {
  const uncompressed = 1 + 2 * curve.size;
  const compressed = 1 + curve.size;
  if (value.length === uncompressed && value[0] === 0x04) {
    return value;
  }
  if (value.length === compressed && (value[0] === 0x02 || value[0] === 0x03)) {
    return value;
  }
  let octets: Tlv;
  try {
    octets = readTlv(value, 0, 'CKA_EC_POINT', Error);
  } catch {
    throw new Error('CKA_EC_POINT is neither a DER OCTET STRING nor a bare EC point');
  }
  if (octets.tag !== DER_TAG.OCTET_STRING || octets.end !== value.length) {
    throw new Error('CKA_EC_POINT is neither a DER OCTET STRING nor a bare EC point');
  }
  const point = octets.content;
  const okLength =
    (point.length === uncompressed && point[0] === 0x04) ||
    (point.length === compressed && (point[0] === 0x02 || point[0] === 0x03));
  if (!okLength) {
    throw new Error(`CKA_EC_POINT holds ${point.length} bytes, not a ${curve.name} point`);
  }
  return point;
}
