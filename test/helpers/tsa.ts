/**
 * Real RFC 3161 timestamp authorities for the tests, on loopback only:
 *
 * - {@link pkijsResponder}: a TSA built with pkijs, whose clock a test can set (a timestamp inside the validity of a
 *   certificate that has since expired needs a genTime in the past);
 * - {@link opensslResponder}: `openssl ts -reply` driven per request with a private config (an independent
 *   implementation; it refuses a TSA certificate whose timeStamping EKU is not critical);
 * - {@link startTsa}: an HTTP server on 127.0.0.1 (RFC 3161 §3.4: `application/timestamp-query` in,
 *   `application/timestamp-reply` out) that serves a bounded number of requests for a bounded time and then closes
 *   by itself.
 */
import { execFile } from 'child_process';
import { createHash, webcrypto } from 'crypto';
import * as fs from 'fs';
import { createServer, Server } from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { Issued } from '../fixtures/x509';

const OID = {
  sha256: '2.16.840.1.101.3.4.2.1',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
};

/** Answers a DER TimeStampReq with a DER TimeStampResp. */
export type TsaResponder = (request: Buffer) => Promise<Buffer>;

const ab = (b: Uint8Array): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

let serial = 1;

/** Options of {@link pkijsResponder}. */
export interface PkijsTsaOptions {
  /** The TSA's certificate and keys. */
  readonly tsa: Issued;
  /** Certificates to embed after the TSA's when the request asks for certificates. @default [] */
  readonly chain?: readonly Issued[];
  /** The TSA's clock. @default () => new Date() */
  readonly clock?: () => Date;
  /** Rewrites the imprint it timestamps (a TSA that answers over other bytes). @default - the request's imprint */
  readonly imprint?: (requested: Buffer) => Buffer;
  /** Rewrites the nonce it echoes. @default - the request's nonce */
  readonly nonce?: (requested: Buffer | undefined) => Buffer | undefined;
}

/** A TSA built with pkijs: TSTInfo in CMS SignedData with contentType, signingTime, messageDigest and ESSCertIDv2. */
export function pkijsResponder(opts: PkijsTsaOptions): TsaResponder {
  pkijs.setEngine('nodejs-webcrypto', new pkijs.CryptoEngine({ name: 'nodejs-webcrypto', crypto: webcrypto as never }));
  return async (der) => {
    const req = pkijs.TimeStampReq.fromBER(ab(der));
    const genTime = opts.clock ? opts.clock() : new Date();
    genTime.setMilliseconds(0);
    const requested = Buffer.from(req.messageImprint.hashedMessage.valueBlock.valueHexView);
    const hashed = opts.imprint ? opts.imprint(requested) : requested;
    const requestedNonce = req.nonce ? Buffer.from(req.nonce.valueBlock.valueHexView) : undefined;
    const nonce = opts.nonce ? opts.nonce(requestedNonce) : requestedNonce;
    const tstInfo = new pkijs.TSTInfo({
      version: 1,
      policy: '1.3.6.1.4.1.99999.3161.1',
      messageImprint: new pkijs.MessageImprint({
        hashAlgorithm: req.messageImprint.hashAlgorithm,
        hashedMessage: new asn1js.OctetString({ valueHex: ab(hashed) }),
      }),
      // a DER INTEGER must be minimal: let asn1js encode the number
      serialNumber: new asn1js.Integer({ value: serial++ }),
      genTime,
      accuracy: new pkijs.Accuracy({ seconds: 1 }),
      ordering: false,
      ...(nonce ? { nonce: new asn1js.Integer({ valueHex: ab(nonce) }) } : {}),
    });
    const tstDer = Buffer.from(tstInfo.toSchema().toBER());
    const tsaCert = pkijs.Certificate.fromBER(ab(opts.tsa.der));
    const essCertIdV2 = new asn1js.Sequence({
      value: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: ab(createHash('sha256').update(opts.tsa.der).digest()) })] })] })],
    });
    const signedAttrs = new pkijs.SignedAndUnsignedAttributes({
      type: 0,
      attributes: [
        new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.tstInfo })] }),
        new pkijs.Attribute({ type: OID.signingTime, values: [new asn1js.UTCTime({ valueDate: genTime })] }),
        new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: ab(createHash('sha256').update(tstDer).digest()) })] }),
        new pkijs.Attribute({ type: OID.signingCertificateV2, values: [essCertIdV2] }),
      ],
    });
    const eci = new pkijs.EncapsulatedContentInfo({ eContentType: OID.tstInfo, eContent: new asn1js.OctetString({ valueHex: ab(tstDer) }) });
    // pkijs' constructor turns eContent into a constructed (chunked BER) OCTET STRING, which OpenSSL reads but
    // @sigstore/core does not: put a primitive one back, as every real TSA writes it
    eci.eContent = new asn1js.OctetString({ valueHex: ab(tstDer) });
    const sd = new pkijs.SignedData({
      version: 3,
      encapContentInfo: eci,
      signerInfos: [new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({ issuer: tsaCert.issuer, serialNumber: tsaCert.serialNumber }),
        signedAttrs,
      })],
      ...(req.certReq ? { certificates: [tsaCert, ...(opts.chain ?? []).map((c) => pkijs.Certificate.fromBER(ab(c.der)))] } : {}),
    });
    await sd.sign(opts.tsa.keys.privateKey as never, 0, 'SHA-256');
    const resp = new pkijs.TimeStampResp({
      status: new pkijs.PKIStatusInfo({ status: pkijs.PKIStatus.granted }),
      timeStampToken: new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: sd.toSchema(true) }),
    });
    return Buffer.from(resp.toSchema().toBER());
  };
}

/** A DER TimeStampReq over SHA-256 of `data`, with a nonce and certReq, as a client sends it. */
export function timestampRequest(data: Buffer, certReq = true): Buffer {
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: ab(createHash('sha256').update(data).digest()) }),
    }),
    nonce: new asn1js.Integer({ value: 0x5eed }),
    certReq,
  });
  return Buffer.from(req.toSchema().toBER());
}

const exec = promisify(execFile);

/**
 * A TSA that is `openssl ts -reply` with a private configuration in a temp directory (removed by the returned
 * `cleanup`). OpenSSL uses its own clock.
 */
export function opensslResponder(tsa: Issued, chain: readonly Issued[] = []): { respond: TsaResponder; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-tsa-'));
  fs.writeFileSync(path.join(dir, 'tsa.pem'), tsa.pem);
  fs.writeFileSync(path.join(dir, 'tsa.key'), tsa.keyPem, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'chain.pem'), chain.map((c) => c.pem).join('') || tsa.pem);
  fs.writeFileSync(path.join(dir, 'serial'), '01\n');
  fs.writeFileSync(path.join(dir, 'tsa.cnf'), [
    '[ tsa_config ]',
    `dir = ${dir}`,
    'serial = $dir/serial',
    'crypto_device = builtin',
    'signer_cert = $dir/tsa.pem',
    'signer_key = $dir/tsa.key',
    'certs = $dir/chain.pem',
    'signer_digest = sha256',
    'default_policy = 1.3.6.1.4.1.99999.3161.2',
    'digests = sha256, sha384, sha512',
    'accuracy = secs:1',
    'ordering = no',
    'tsa_name = no',
    'ess_cert_id_chain = no',
    'ess_cert_id_alg = sha256',
    '',
  ].join('\n'));
  let n = 0;
  const respond: TsaResponder = async (der) => {
    const q = path.join(dir, `req-${++n}.tsq`);
    const r = path.join(dir, `resp-${n}.tsr`);
    fs.writeFileSync(q, der);
    // only this configuration (never the system openssl.cnf), and a bounded run
    await exec('openssl', ['ts', '-reply', '-config', path.join(dir, 'tsa.cnf'), '-section', 'tsa_config', '-queryfile', q, '-out', r], { timeout: 10_000 });
    return fs.readFileSync(r);
  };
  return { respond, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A TSA listening on loopback. */
export interface LocalTsa {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** Requests answered so far. */
  readonly served: () => number;
  /** Stops it now (it also stops by itself after its request or time budget). */
  readonly close: () => Promise<void>;
}

/** Options of {@link startTsa}. */
export interface TsaServerOptions {
  /** Requests to serve before closing. @default 20 */
  readonly maxRequests?: number;
  /** Lifetime in milliseconds. @default 60000 */
  readonly maxMs?: number;
  /** Answer every request with this HTTP status and body instead (a failing TSA). */
  readonly failWith?: { readonly status: number; readonly body: string };
}

/** Serves `respond` over HTTP on 127.0.0.1 at a random port, within a request and time budget. */
export async function startTsa(respond: TsaResponder, opts: TsaServerOptions = {}): Promise<LocalTsa> {
  const maxRequests = opts.maxRequests ?? 20;
  let served = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) {
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => {
      served++;
      const done = () => {
        if (served >= maxRequests) {
          server.close();
        }
      };
      if (opts.failWith) {
        res.writeHead(opts.failWith.status, { 'content-type': 'text/plain' }).end(opts.failWith.body, done);
        return;
      }
      if (req.method !== 'POST' || req.headers['content-type'] !== 'application/timestamp-query') {
        res.writeHead(415, { 'content-type': 'text/plain' }).end('expected POST application/timestamp-query', done);
        return;
      }
      respond(Buffer.concat(chunks)).then(
        (out) => res.writeHead(200, { 'content-type': 'application/timestamp-reply', 'content-length': out.length }).end(out, done),
        (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(e.message, done),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const timer = setTimeout(() => server.close(), opts.maxMs ?? 60_000);
  timer.unref();
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    served: () => served,
    close: () => new Promise<void>((resolve) => {
      clearTimeout(timer);
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
