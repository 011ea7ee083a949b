/**
 * A test stand-in for the AWS Signer PKI, made with the openssl CLI (node cannot issue certificates):
 * root CA → intermediate ("code signing") CA → leaf, all ECDSA P-384 by default, the leaf with key usage
 * digitalSignature and extended key usage codeSigning, like the AWS Signer certificates.
 *
 * `openssl ca` is used instead of `openssl x509 -req` because it can set exact validity dates, which the
 * expired / not-yet-valid tests need. Hierarchies are cached per options for the test run (one jest worker).
 */
import { execFileSync } from 'child_process';
import { createPrivateKey, X509Certificate, type KeyObject } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Knobs of {@link testCa}. */
export interface TestCaOptions {
  /** Distinguishes otherwise identical hierarchies (e.g. a second, untrusted CA). @default 'aws-signer-test' */
  readonly name?: string;
  /** Leaf curve. @default 'P-384' */
  readonly leafCurve?: 'P-256' | 'P-384';
  /** Leaf notBefore. @default one day ago */
  readonly leafNotBefore?: Date;
  /** Leaf notAfter. @default 30 days from now */
  readonly leafNotAfter?: Date;
  /** Leaf extendedKeyUsage value, or null for none. @default 'codeSigning' */
  readonly leafExtKeyUsage?: string | null;
}

/** A generated hierarchy. */
export interface TestCa {
  readonly dir: string;
  readonly rootPem: string;
  readonly intermediatePem: string;
  readonly leafPem: string;
  readonly root: X509Certificate;
  readonly intermediate: X509Certificate;
  readonly leaf: X509Certificate;
  /** The leaf's private key. */
  readonly leafKey: KeyObject;
  /** x5c order: leaf, intermediate, root (DER). */
  readonly chainDer: Buffer[];
}

const cache = new Map<string, TestCa>();
let baseDir: string | undefined;

/** Returns a hierarchy for `opts`, generating it on first use in this test run. */
export function testCa(opts: TestCaOptions = {}): TestCa {
  const key = JSON.stringify({
    ...opts,
    leafNotBefore: opts.leafNotBefore?.toISOString(),
    leafNotAfter: opts.leafNotAfter?.toISOString(),
  });
  let ca = cache.get(key);
  if (!ca) {
    ca = generate(opts, cache.size);
    cache.set(key, ca);
  }
  return ca;
}

function base(): string {
  if (!baseDir) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-test-ca-'));
    baseDir = dir;
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return baseDir;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** `YYYYMMDDHHMMSSZ`, the GeneralizedTime form `openssl ca -startdate/-enddate` accepts. */
function asn1Time(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

const CONFIG = `[ca]
default_ca = CA_default
[CA_default]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha384
policy = policy_any
unique_subject = no
preserve = yes
copy_extensions = none
[policy_any]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[root_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[int_ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

function generate(opts: TestCaOptions, n: number): TestCa {
  const name = opts.name ?? 'aws-signer-test';
  const dir = path.join(base(), `${n}-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`);
  fs.mkdirSync(dir, { recursive: true });
  const eku = opts.leafExtKeyUsage === undefined ? 'codeSigning' : opts.leafExtKeyUsage;
  fs.writeFileSync(path.join(dir, 'ca.cnf'), CONFIG + [
    '[leaf_ext]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature',
    ...(eku ? [`extendedKeyUsage = ${eku}`] : []),
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
  ].join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'serial'), `${(0x1000 + n * 16).toString(16)}\n`);

  const keygen = (file: string, curve: string) =>
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', file], dir);
  const csr = (keyFile: string, subj: string, out: string) => openssl(['req', '-new', '-key', keyFile, '-subj', subj, '-out', out], dir);
  const ca = (args: string[]) => openssl(['ca', '-batch', '-notext', '-config', 'ca.cnf', ...args], dir);

  keygen('root.key', 'P-384');
  csr('root.key', `/C=US/O=ModelSeal Test/CN=${name} Root CA G1`, 'root.csr');
  ca(['-selfsign', '-keyfile', 'root.key', '-in', 'root.csr', '-startdate', '20200101000000Z', '-enddate', '20450101000000Z',
    '-extensions', 'root_ext', '-out', 'root.pem']);

  keygen('int.key', 'P-384');
  csr('int.key', `/C=US/O=ModelSeal Test/OU=Cryptography/CN=${name} Code Signing CA G1`, 'int.csr');
  ca(['-cert', 'root.pem', '-keyfile', 'root.key', '-in', 'int.csr', '-startdate', '20200101000000Z', '-enddate', '20440101000000Z',
    '-extensions', 'int_ext', '-out', 'int.pem']);

  const now = Date.now();
  const notBefore = opts.leafNotBefore ?? new Date(now - 24 * 3600 * 1000);
  const notAfter = opts.leafNotAfter ?? new Date(now + 30 * 24 * 3600 * 1000);
  keygen('leaf.key', opts.leafCurve ?? 'P-384');
  csr('leaf.key', '/C=US/ST=WA/L=Seattle/O=AWS/OU=AWS Cryptography/CN=AWS Signer', 'leaf.csr');
  ca(['-cert', 'int.pem', '-keyfile', 'int.key', '-in', 'leaf.csr', '-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter),
    '-extensions', 'leaf_ext', '-out', 'leaf.pem']);

  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  const rootPem = read('root.pem');
  const intermediatePem = read('int.pem');
  const leafPem = read('leaf.pem');
  const root = new X509Certificate(rootPem);
  const intermediate = new X509Certificate(intermediatePem);
  const leaf = new X509Certificate(leafPem);
  return {
    dir,
    rootPem,
    intermediatePem,
    leafPem,
    root,
    intermediate,
    leaf,
    leafKey: createPrivateKey(read('leaf.key')),
    chainDer: [leaf.raw, intermediate.raw, root.raw],
  };
}
