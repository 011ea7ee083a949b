/**
 * `modelseal tls init --service NAME --namespace NS --out DIR`: the TLS material of the verifier service.
 *
 * Kyverno's `http.Client(<CA PEM>)`, Gatekeeper's Provider `caBundle` and the native webhook's `caBundle` need the CA
 * certificate when the admission objects are synthesized, so the CA is made here, outside the cluster, and given to
 * the constructs (`ModelVerifier caCertificatePem`). Writes into DIR (refusing to overwrite without `--force`):
 *
 * - `ca.crt`, `ca.key`: a self-signed ECDSA P-256 CA (`CA:TRUE, pathlen:0`, keyCertSign + cRLSign);
 * - `tls.crt`, `tls.key`: an ECDSA P-256 serving certificate issued by it for the Service's DNS names (`NAME`,
 *   `NAME.NS`, `NAME.NS.svc`, `NAME.NS.svc.<cluster domain>`), extended key usage serverAuth;
 * - `secret.yaml`: the `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`, `ca.crt`) the verifier mounts;
 * - `ca-secret.yaml`: the CA as a `kubernetes.io/tls` Secret, for cert-manager's CA Issuer (`certManagerCaSecretName`).
 *
 * Keys are written with mode 0600. Certificates are built with pkijs (RFC 5280) from WebCrypto keys, then checked with
 * Node's own X.509 parser (issuer, signature, host names) before anything is written.
 */
import { createHash, randomBytes, webcrypto, X509Certificate } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { UsageError } from '../../codec/errors';
import { FlagSpec, parseArgs, printHelp } from '../args';
import type { ProgressStream } from '../progress';

type Pkijs = typeof import('pkijs', { with: { 'resolution-mode': 'import' } });
type Asn1js = typeof import('asn1js', { with: { 'resolution-mode': 'import' } });
/** pkijs's WebCrypto types (the DOM lib's), which Node's webcrypto objects satisfy at run time. */
type PkiKey = Parameters<InstanceType<Pkijs['Certificate']>['sign']>[0];
type PkiCrypto = ConstructorParameters<Pkijs['CryptoEngine']>[0]['crypto'];

/** Where the command writes. */
export interface TlsCommandIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
}

const INIT_FLAGS: Record<string, FlagSpec> = {
  'service': { type: 'string', metavar: 'NAME', help: 'The verifier\'s Service name (required; ModelVerifier default: modelseal-verifier).' },
  'namespace': { type: 'string', metavar: 'NS', help: 'Its namespace (required; ModelVerifier default: modelseal-system).' },
  'out': { type: 'string', metavar: 'DIR', help: 'Folder to write into (created if missing; required).' },
  'secret-name': { type: 'string', metavar: 'NAME', help: 'Name of the serving Secret (default: <service>-tls, the ModelVerifier default).' },
  'days': { type: 'string', metavar: 'N', help: 'Validity of the serving certificate in days (default: 365).' },
  'ca-days': { type: 'string', metavar: 'N', help: 'Validity of the CA certificate in days (default: 3650).' },
  'cluster-domain': { type: 'string', metavar: 'DOMAIN', help: 'The cluster\'s DNS domain (default: cluster.local).' },
  'force': { type: 'boolean', help: 'Overwrite files already in DIR.' },
  'json': { type: 'boolean', help: 'Print the written files and the DNS names as JSON.' },
  'help': { type: 'boolean', help: 'Show this help.' },
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** What `tls init` made. */
export interface TlsMaterial {
  readonly caPem: string;
  readonly caKeyPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly dnsNames: string[];
}

/** `modelseal tls init ...`. */
export async function tlsCommand(argv: readonly string[], io: TlsCommandIo): Promise<number> {
  const sub = argv[0];
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write('Usage: modelseal tls init --service NAME --namespace NS --out DIR [options]\n');
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'init') {
    throw new UsageError(`tls: unknown subcommand "${sub}"; expected init`);
  }
  const args = parseArgs(argv.slice(1), INIT_FLAGS, 'tls init');
  if (args.flags.help) {
    return printHelp(io.stdout, 'tls init --service NAME --namespace NS --out DIR [options]',
      'Make a CA and a serving certificate for the verifier Service\'s DNS names, and the kubernetes.io/tls Secret\n'
      + 'manifest. Give ca.crt to the admission constructs (ModelVerifier caCertificatePem); apply secret.yaml.', INIT_FLAGS);
  }
  if (args.positionals.length > 0) {
    throw new UsageError(`tls init takes no positional arguments; got ${args.positionals.join(' ')}`);
  }
  const service = required(args.flags.service, '--service NAME');
  const namespace = required(args.flags.namespace, '--namespace NS');
  const out = required(args.flags.out, '--out DIR');
  for (const [flag, v] of [['--service', service], ['--namespace', namespace]] as const) {
    if (v.length > 63 || !DNS_LABEL.test(v)) {
      throw new UsageError(`tls init: ${flag} ${JSON.stringify(v)} is not a DNS label (lower-case letters, digits and '-', at most 63)`);
    }
  }
  const secretName = (args.flags['secret-name'] as string | undefined) ?? `${service}-tls`;
  if (secretName.length > 253 || !DNS_NAME.test(secretName)) {
    throw new UsageError(`tls init: --secret-name ${JSON.stringify(secretName)} is not a valid Secret name`);
  }
  const clusterDomain = (args.flags['cluster-domain'] as string | undefined) ?? 'cluster.local';
  if (!DNS_NAME.test(clusterDomain)) {
    throw new UsageError(`tls init: --cluster-domain ${JSON.stringify(clusterDomain)} is not a DNS name`);
  }
  const days = positiveInt(args.flags.days, '--days', 365);
  const caDays = positiveInt(args.flags['ca-days'], '--ca-days', 3650);
  if (caDays < days) {
    throw new UsageError(`tls init: --ca-days ${caDays} is shorter than --days ${days}; the CA must outlive the certificates it issues`);
  }
  const material = await makeVerifierTls({ service, namespace, days, caDays, clusterDomain });
  const files: Record<string, { text: string; mode: number }> = {
    'ca.crt': { text: material.caPem, mode: 0o644 },
    'ca.key': { text: material.caKeyPem, mode: 0o600 },
    'tls.crt': { text: material.certPem, mode: 0o644 },
    'tls.key': { text: material.keyPem, mode: 0o600 },
    'secret.yaml': { text: tlsSecret(secretName, namespace, material.certPem, material.keyPem, material.caPem), mode: 0o600 },
    'ca-secret.yaml': { text: tlsSecret(`${service}-ca`, namespace, material.caPem, material.caKeyPem), mode: 0o600 },
  };
  await fs.mkdir(out, { recursive: true }).catch((e: Error) => {
    throw new UsageError(`tls init: cannot create ${out}: ${e.message}`);
  });
  if (args.flags.force !== true) {
    const existing = (await Promise.all(Object.keys(files).map(async (f) => (await exists(path.join(out, f)) ? f : undefined)))).filter(Boolean);
    if (existing.length > 0) {
      throw new UsageError(`tls init: ${out} already holds ${existing.join(', ')}; pass --force to replace them (a new CA must then be given to the admission constructs too)`);
    }
  }
  for (const [name, f] of Object.entries(files)) {
    const file = path.join(out, name);
    try {
      await fs.writeFile(file, f.text, { mode: f.mode });
      await fs.chmod(file, f.mode);
    } catch (e) {
      throw new UsageError(`tls init: cannot write ${file}: ${(e as Error).message}`);
    }
  }
  if (args.flags.json) {
    io.stdout.write(JSON.stringify({
      ok: true,
      command: 'tls init',
      out,
      files: Object.keys(files),
      dnsNames: material.dnsNames,
      secretName,
      namespace,
      notAfter: new X509Certificate(material.certPem).validTo,
      caNotAfter: new X509Certificate(material.caPem).validTo,
    }) + '\n');
  } else {
    io.stdout.write([
      `Wrote ${Object.keys(files).join(', ')} to ${out}`,
      `  serving certificate for ${material.dnsNames.join(', ')} (${days} days), CA (${caDays} days)`,
      `  apply: kubectl apply -f ${path.join(out, 'secret.yaml')}`,
      `  give ${path.join(out, 'ca.crt')} to the admission constructs (ModelVerifier caCertificatePem); keep ca.key offline`,
    ].join('\n') + '\n');
  }
  return 0;
}

/** Options of {@link makeVerifierTls}. */
export interface VerifierTlsOptions {
  readonly service: string;
  readonly namespace: string;
  /** Serving certificate validity, days. */
  readonly days: number;
  /** CA validity, days. */
  readonly caDays: number;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** Instant the certificates start being valid (a minute of clock skew is allowed for). @default - now */
  readonly now?: Date;
}

/** Makes the CA and the serving certificate (PEM), checked with Node's X.509 parser. */
export async function makeVerifierTls(opts: VerifierTlsOptions): Promise<TlsMaterial> {
  // eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
  const pkijs: Pkijs = await import('pkijs');
  // eslint-disable-next-line import/no-extraneous-dependencies -- bundled into the CLI asset by esbuild; not a dependency of the construct library
  const asn1js: Asn1js = await import('asn1js');
  const subtle = webcrypto.subtle;
  const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as PkiCrypto });
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - 60_000);
  const dnsNames = [
    opts.service, `${opts.service}.${opts.namespace}`, `${opts.service}.${opts.namespace}.svc`,
    `${opts.service}.${opts.namespace}.svc.${opts.clusterDomain ?? 'cluster.local'}`,
  ];
  const ext = (id: string, critical: boolean, value: { toBER(sizeOnly?: boolean): ArrayBuffer }) =>
    new pkijs.Extension({ extnID: id, critical, extnValue: value.toBER(false) });
  const name = (cn: string) => new pkijs.RelativeDistinguishedNames({
    typesAndValues: [new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: cn }) })],
  });
  const keyUsage = (bits: number[]) => {
    const byte = bits.reduce((b, bit) => b | (0x80 >> bit), 0);
    const unused = Math.min(7, 7 - Math.max(...bits));
    return new asn1js.BitString({ valueHex: new Uint8Array([byte]).buffer, unusedBits: unused });
  };
  const build = async (subject: string, issuer: string, publicKey: PkiKey, signingKey: PkiKey, days: number,
    extensions: (ski: ArrayBuffer) => InstanceType<Pkijs['Extension']>[]) => {
    const cert = new pkijs.Certificate();
    cert.version = 2;
    const serial = randomBytes(16);
    serial[0] = (serial[0] & 0x7f) | 0x01;
    cert.serialNumber = new asn1js.Integer({ valueHex: new Uint8Array(serial).buffer });
    cert.subject = name(subject);
    cert.issuer = name(issuer);
    cert.notBefore.value = notBefore;
    cert.notAfter.value = new Date(notBefore.getTime() + days * 86_400_000);
    await cert.subjectPublicKeyInfo.importKey(publicKey, engine);
    // RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits
    const spki = Buffer.from(await subtle.exportKey('spki', publicKey as webcrypto.CryptoKey));
    const ski = createHash('sha1').update(spkiBits(spki)).digest();
    cert.extensions = extensions(new Uint8Array(ski).buffer);
    await cert.sign(signingKey, 'SHA-256', engine);
    return Buffer.from(cert.toSchema(true).toBER(false));
  };
  const caKeys = await subtle.generateKey(EC, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const leafKeys = await subtle.generateKey(EC, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const caName = `${opts.service}.${opts.namespace} verifier CA`;
  let caSki: ArrayBuffer | undefined;
  const caDer = await build(caName, caName, caKeys.publicKey as unknown as PkiKey, caKeys.privateKey as unknown as PkiKey, opts.caDays, (ski) => {
    caSki = ski;
    return [
      ext('2.5.29.19', true, new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 0 }).toSchema()),
      ext('2.5.29.15', true, keyUsage([5, 6])),
      ext('2.5.29.14', false, new asn1js.OctetString({ valueHex: ski })),
    ];
  });
  const caPrivate = caKeys.privateKey as unknown as PkiKey;
  const leafDer = await build(dnsNames[2], caName, leafKeys.publicKey as unknown as PkiKey, caPrivate, opts.days, (ski) => [
    ext('2.5.29.19', true, new pkijs.BasicConstraints({ cA: false }).toSchema()),
    ext('2.5.29.15', true, keyUsage([0])),
    ext('2.5.29.37', false, new pkijs.ExtKeyUsage({ keyPurposes: ['1.3.6.1.5.5.7.3.1'] }).toSchema()),
    ext('2.5.29.17', false, new pkijs.GeneralNames({ names: dnsNames.map((d) => new pkijs.GeneralName({ type: 2, value: d })) }).toSchema()),
    ext('2.5.29.14', false, new asn1js.OctetString({ valueHex: ski })),
    ext('2.5.29.35', false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: caSki! }) }).toSchema()),
  ]);
  const material: TlsMaterial = {
    caPem: pem('CERTIFICATE', caDer),
    caKeyPem: pem('PRIVATE KEY', Buffer.from(await subtle.exportKey('pkcs8', caKeys.privateKey))),
    certPem: pem('CERTIFICATE', leafDer),
    keyPem: pem('PRIVATE KEY', Buffer.from(await subtle.exportKey('pkcs8', leafKeys.privateKey))),
    dnsNames,
  };
  selfCheck(material);
  return material;
}

/** Node's X.509 reading of what was built: a CA that signed a leaf for every DNS name. */
function selfCheck(m: TlsMaterial): void {
  const ca = new X509Certificate(m.caPem);
  const leaf = new X509Certificate(m.certPem);
  const problems: string[] = [];
  if (!ca.ca) problems.push('the CA certificate is not a CA');
  if (!ca.verify(ca.publicKey)) problems.push('the CA certificate is not self-signed');
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) problems.push('the serving certificate is not signed by the CA');
  for (const d of m.dnsNames) {
    if (leaf.checkHost(d) !== d) problems.push(`the serving certificate does not name ${d}`);
  }
  if (problems.length > 0) {
    throw new Error(`tls init built certificates that do not check out: ${problems.join('; ')}`);
  }
}

/** The BIT STRING contents (without the unused-bits byte) of a DER SubjectPublicKeyInfo of a P-256 key. */
function spkiBits(spki: Buffer): Buffer {
  // SEQUENCE { SEQUENCE { OID, OID }, BIT STRING }: the BIT STRING is the last 66 bytes for P-256 (03 42 00 <65>)
  const bits = spki.subarray(spki.length - 65);
  if (spki[spki.length - 68] !== 0x03 || spki[spki.length - 67] !== 0x42 || spki[spki.length - 66] !== 0x00) {
    throw new Error('unexpected SubjectPublicKeyInfo layout for a P-256 key');
  }
  return bits;
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** A `kubernetes.io/tls` Secret manifest (data base64-encoded). */
function tlsSecret(name: string, namespace: string, cert: string, key: string, ca?: string): string {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return [
    'apiVersion: v1',
    'kind: Secret',
    'type: kubernetes.io/tls',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    '  labels:',
    '    app.kubernetes.io/part-of: modelseal',
    'data:',
    `  tls.crt: ${b64(cert)}`,
    `  tls.key: ${b64(key)}`,
    ...(ca ? [`  ca.crt: ${b64(ca)}`] : []),
    '',
  ].join('\n');
}

function required(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') {
    throw new UsageError(`tls init needs ${what}`);
  }
  return v;
}

function positiveInt(v: unknown, flag: string, dflt: number): number {
  if (v === undefined) {
    return dflt;
  }
  const n = Number(v);
  if (!/^\d+$/.test(String(v)) || !Number.isSafeInteger(n) || n < 1 || n > 36500) {
    throw new UsageError(`tls init: ${flag} ${JSON.stringify(v)} must be a whole number of days between 1 and 36500`);
  }
  return n;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}
