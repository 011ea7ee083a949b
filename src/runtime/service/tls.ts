/**
 * The verifier's TLS material: the serving certificate and key (and, for mutual TLS, the client CA), read from files
 * and reloaded when they change, without dropping a connection: `tls.Server.setSecureContext` applies to new
 * handshakes only, so open connections keep the context they were made with (cert-manager and kubelet rotate the
 * mounted Secret in place).
 */
import * as fs from 'fs';
import { createSecureContext, SecureContextOptions } from 'tls';
import { UsageError } from '../codec/errors';

/** The TLS flags. */
export interface TlsFiles {
  /** PEM certificate chain (leaf first). */
  readonly certFile: string;
  /** PEM private key. */
  readonly keyFile: string;
  /**
   * PEM CA certificate(s) client certificates must chain to (mutual TLS): asked for in every handshake, required on
   * the decision routes (`/validate`, `/gatekeeper`, `/kyverno`), not on `/healthz`, `/readyz` and `/metrics`.
   *
   * @default - no client certificate asked
   */
  readonly clientCaFile?: string;
  /** Minimum protocol version. */
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
}

/** The options `https.createServer` / `setSecureContext` take, read from the files. */
export interface TlsOptions extends SecureContextOptions {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
}

/**
 * Reads the files and checks that they make a usable context (the key matches the certificate, the PEM parses).
 *
 * @throws UsageError naming the file or the mismatch
 */
export function readTlsOptions(files: TlsFiles): TlsOptions {
  const read = (file: string, what: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new UsageError(`cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const cert = read(files.certFile, 'TLS certificate (--tls-cert)');
  const key = read(files.keyFile, 'TLS private key (--tls-key)');
  const ca = files.clientCaFile !== undefined ? read(files.clientCaFile, 'client CA (--client-ca)') : undefined;
  const options: TlsOptions = {
    cert,
    key,
    ...(ca ? { ca } : {}),
    minVersion: files.minVersion,
    requestCert: ca !== undefined,
    // the handshake asks for a client certificate but does not refuse a client without one: kubelet's HTTPS probes
    // (/healthz, /readyz) present none. The decision routes refuse unless the certificate chains to the client CA
    // (server.ts, requireClientCertificate).
    rejectUnauthorized: false,
  };
  try {
    createSecureContext(options);
  } catch (e) {
    throw new UsageError(`the TLS certificate ${files.certFile} and key ${files.keyFile}${ca ? ` (client CA ${files.clientCaFile})` : ''} do not make a usable TLS context: ${(e as Error).message}`);
  }
  return options;
}

/** `--tls-min-version 1.2|1.3` → the Node.js protocol name. */
export function tlsMinVersion(value: string | undefined): 'TLSv1.2' | 'TLSv1.3' {
  if (value === undefined || value === '1.2') {
    return 'TLSv1.2';
  }
  if (value === '1.3') {
    return 'TLSv1.3';
  }
  throw new UsageError(`--tls-min-version ${JSON.stringify(value)} is not supported; expected 1.2 or 1.3 (Gatekeeper needs 1.3)`);
}
