/**
 * A CA certificate for the verifier's TLS props, made once per test run with openssl (as `modelseal tls init` will).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

let pem: string | undefined;

/** A self-signed P-256 CA certificate (PEM); its key is discarded. */
export function verifierCaPem(): string {
  if (pem) return pem;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-ca-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
      '-subj', '/CN=modelseal-verifier-ca', '-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'ca.crt'),
    ], { stdio: 'ignore' });
    pem = fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    return pem;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
