/**
 * DSSE pre-authentication encoding (PAE): the exact bytes a DSSE signature covers.
 *
 * @see https://github.com/secure-systems-lab/dsse/blob/v1.0.0/protocol.md
 */

/** The DSSE payload type of an in-toto statement. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/**
 * Builds the DSSE v1 PAE of a payload.
 *
 * `DSSEv1 <len(type)> <type> <len(body)> <body>`, lengths in bytes as ASCII decimals. The signature is computed
 * over these bytes, never over the payload alone, so that the payload type is bound to the signature.
 */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  const header = Buffer.from(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `, 'utf8');
  return Buffer.concat([header, payload]);
}

/**
 * Builds the PAE as model_signing v0.2.0 computed it, for verifying signatures made by that release.
 *
 * That release formatted the Python `bytes` object into a string, so the signed text holds the payload's Python
 * `repr` (`b'...'` with escapes) and the prefix reads `DSSEV1`. Verifiers of the reference implementation fall back
 * to this encoding when the standard PAE does not verify; only legacy payloads need it.
 */
export function paeCompat(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.from(`DSSEV1 ${type.length} ${payloadType} ${payload.length} ${pythonBytesRepr(payload)}`, 'utf8');
}

/** Python's `repr(bytes)`: the quoting and escaping rules of CPython's `bytes.__repr__`. */
export function pythonBytesRepr(data: Buffer): string {
  const hasSingle = data.includes(0x27);
  const hasDouble = data.includes(0x22);
  const quote = hasSingle && !hasDouble ? '"' : "'";
  let out = 'b' + quote;
  for (const b of data) {
    if (b === quote.charCodeAt(0) || b === 0x5c) {
      out += '\\' + String.fromCharCode(b);
    } else if (b === 0x09) {
      out += '\\t';
    } else if (b === 0x0a) {
      out += '\\n';
    } else if (b === 0x0d) {
      out += '\\r';
    } else if (b < 0x20 || b >= 0x7f) {
      out += '\\x' + b.toString(16).padStart(2, '0');
    } else {
      out += String.fromCharCode(b);
    }
  }
  return out + quote;
}
