/**
 * RFC 7512 `pkcs11:` URIs: which module, token and key to sign with, and where the PIN comes from.
 */
import { readFileSync } from 'fs';
import { fileURLToPath } from 'url';
import { UsageError } from '../codec/errors';

/** Object classes an RFC 7512 `type` attribute may name. */
export type Pkcs11ObjectType = 'public' | 'private' | 'cert' | 'secret-key' | 'data';

/**
 * A parsed RFC 7512 PKCS#11 URI.
 *
 * Every value is percent-decoded. Text attributes are UTF-8 strings; `id` stays bytes because CKA_ID
 * is an arbitrary byte string. Absent attributes are `undefined` and match anything.
 */
export interface Pkcs11Uri {
  /** Token label (CKA_LABEL of the token, `CK_TOKEN_INFO.label`). */
  readonly token?: string;
  /** Token manufacturer (`CK_TOKEN_INFO.manufacturerID`). */
  readonly manufacturer?: string;
  /** Token serial number (`CK_TOKEN_INFO.serialNumber`). */
  readonly serial?: string;
  /** Token model (`CK_TOKEN_INFO.model`). */
  readonly model?: string;
  /** Library manufacturer (`CK_INFO.manufacturerID`). */
  readonly libraryManufacturer?: string;
  /** Library description (`CK_INFO.libraryDescription`). */
  readonly libraryDescription?: string;
  /** Library version, `major` or `major.minor` (`CK_INFO.libraryVersion`). */
  readonly libraryVersion?: string;
  /** Slot description (`CK_SLOT_INFO.slotDescription`). */
  readonly slotDescription?: string;
  /** Slot manufacturer (`CK_SLOT_INFO.manufacturerID`). */
  readonly slotManufacturer?: string;
  /** Slot id (`CK_SLOT_ID`), a decimal number. */
  readonly slotId?: number;
  /** Object label (CKA_LABEL). */
  readonly object?: string;
  /** Object id (CKA_ID), raw bytes. */
  readonly id?: Buffer;
  /** Object class. */
  readonly type?: Pkcs11ObjectType;
  /** The PIN itself (`pin-value`). Prefer `pinSource`: a URI on a command line is visible to other users. */
  readonly pinValue?: string;
  /** Where to read the PIN from (`pin-source`): an absolute path or a `file:` URI. */
  readonly pinSource?: string;
  /** Absolute path of the PKCS#11 module (`module-path`). */
  readonly modulePath?: string;
  /** Module name without directory or suffix, e.g. `softhsm2` (`module-name`). */
  readonly moduleName?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const TEXT_PATH_ATTRIBUTES: Record<string, keyof Pkcs11Uri> = {
  'token': 'token',
  'manufacturer': 'manufacturer',
  'serial': 'serial',
  'model': 'model',
  'library-manufacturer': 'libraryManufacturer',
  'library-description': 'libraryDescription',
  'library-version': 'libraryVersion',
  'slot-description': 'slotDescription',
  'slot-manufacturer': 'slotManufacturer',
  'object': 'object',
};

const TEXT_QUERY_ATTRIBUTES: Record<string, keyof Pkcs11Uri> = {
  'pin-value': 'pinValue',
  'pin-source': 'pinSource',
  'module-path': 'modulePath',
  'module-name': 'moduleName',
};

const OBJECT_TYPES: readonly Pkcs11ObjectType[] = ['public', 'private', 'cert', 'secret-key', 'data'];

/**
 * Percent-decodes an RFC 7512 attribute value into bytes.
 *
 * RFC 7512 values are byte strings; a `%` must start a two-hex-digit escape.
 */
function percentDecode(value: string, attribute: string, uri: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '%') {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
        throw new UsageError(
          `PKCS#11 URI ${redact(uri)}: attribute "${attribute}" has a bad percent-escape "%${hex}"; ` +
            'write a literal % as %25 and bytes as %XX with two hex digits',
        );
      }
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

/**
 * Hides `pin-value` so error messages never echo a PIN.
 */
export function redact(uri: string): string {
  return uri.replace(/(pin-value=)[^&]*/g, '$1***');
}

/**
 * Parses an RFC 7512 `pkcs11:` URI.
 *
 * Path attributes are separated by `;`, query attributes follow `?` and are separated by `&`. Unknown
 * attributes (including vendor `x-` ones) are rejected rather than ignored, because silently dropping a
 * constraint could select a different key than the one the operator meant. Attributes may appear once.
 *
 * @throws UsageError naming the offending attribute or value.
 */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  const scheme = 'pkcs11:';
  if (!uri.toLowerCase().startsWith(scheme)) {
    throw new UsageError(`not a PKCS#11 URI: "${redact(uri)}"; expected "pkcs11:token=<label>;object=<key label>?pin-source=<file>"`);
  }
  const rest = uri.slice(scheme.length);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  const result: Mutable<Pkcs11Uri> = {};
  const seen = new Set<string>();

  const parts: { attr: string; value: string; inQuery: boolean }[] = [];
  for (const [text, sep, inQuery] of [[path, ';', false], [query, '&', true]] as const) {
    if (text === '') {
      continue;
    }
    for (const part of text.split(sep)) {
      const eq = part.indexOf('=');
      if (eq <= 0) {
        throw new UsageError(
          `PKCS#11 URI ${redact(uri)}: "${part}" is not an attribute=value pair` +
            (inQuery ? ' (query attributes are separated by "&")' : ' (path attributes are separated by ";")'),
        );
      }
      parts.push({ attr: part.slice(0, eq).toLowerCase(), value: part.slice(eq + 1), inQuery });
    }
  }

  for (const { attr, value, inQuery } of parts) {
    if (seen.has(attr)) {
      throw new UsageError(`PKCS#11 URI ${redact(uri)}: attribute "${attr}" appears more than once`);
    }
    seen.add(attr);
    const table = inQuery ? TEXT_QUERY_ATTRIBUTES : TEXT_PATH_ATTRIBUTES;
    const otherTable = inQuery ? TEXT_PATH_ATTRIBUTES : TEXT_QUERY_ATTRIBUTES;
    const decoded = (): Buffer => percentDecode(value, attr, uri);
    if (attr in table) {
      (result as Record<string, unknown>)[table[attr]] = decoded().toString('utf8');
    } else if (!inQuery && attr === 'id') {
      result.id = decoded();
    } else if (!inQuery && attr === 'type') {
      const t = decoded().toString('utf8');
      if (!(OBJECT_TYPES as readonly string[]).includes(t)) {
        throw new UsageError(`PKCS#11 URI ${redact(uri)}: type "${t}" is not one of ${OBJECT_TYPES.join(', ')}`);
      }
      result.type = t as Pkcs11ObjectType;
    } else if (!inQuery && attr === 'slot-id') {
      const s = decoded().toString('utf8');
      if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) {
        throw new UsageError(`PKCS#11 URI ${redact(uri)}: slot-id "${s}" is not a decimal number`);
      }
      result.slotId = Number(s);
    } else if (attr in otherTable || (inQuery && ['id', 'type', 'slot-id'].includes(attr))) {
      throw new UsageError(
        `PKCS#11 URI ${redact(uri)}: attribute "${attr}" belongs in the ${inQuery ? 'path (before "?")' : 'query (after "?")'}`,
      );
    } else {
      throw new UsageError(
        `PKCS#11 URI ${redact(uri)}: unknown attribute "${attr}"; supported: ` +
          [...Object.keys(TEXT_PATH_ATTRIBUTES), 'id', 'type', 'slot-id'].join(', ') +
          ' (path) and ' +
          Object.keys(TEXT_QUERY_ATTRIBUTES).join(', ') +
          ' (query)',
      );
    }
  }

  if (result.libraryVersion !== undefined && !/^[0-9]+(\.[0-9]+)?$/.test(result.libraryVersion)) {
    throw new UsageError(`PKCS#11 URI ${redact(uri)}: library-version "${result.libraryVersion}" is not "major" or "major.minor"`);
  }
  if (result.pinValue !== undefined && result.pinSource !== undefined) {
    throw new UsageError(`PKCS#11 URI ${redact(uri)}: give pin-value or pin-source, not both`);
  }
  if (result.modulePath !== undefined && result.moduleName !== undefined) {
    throw new UsageError(`PKCS#11 URI ${redact(uri)}: give module-path or module-name, not both`);
  }
  return result;
}

/**
 * Reads the PIN a `pin-source` names: an absolute path or a `file:` URI.
 *
 * One trailing newline (LF or CRLF) is dropped, as `echo pin > file` adds one. Other `pin-source`
 * schemes (p11-kit's `|command`, `env:`) are not supported and say so.
 *
 * @throws UsageError when the source is not a file or cannot be read.
 */
export function readPinSource(pinSource: string): string {
  let path: string;
  if (pinSource.startsWith('file:')) {
    try {
      path = fileURLToPath(pinSource);
    } catch (e) {
      throw new UsageError(`pin-source "${pinSource}" is not a valid file: URI (${(e as Error).message}); use file:///absolute/path`);
    }
  } else if (pinSource.startsWith('/')) {
    path = pinSource;
  } else {
    throw new UsageError(`pin-source "${pinSource}" is not supported; use an absolute path or a file:///absolute/path URI`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the PIN from pin-source "${pinSource}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return text.replace(/\r?\n$/, '');
}
