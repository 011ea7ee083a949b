/**
 * Admission policies for GitOps (Argo CD, Flux): the verifier and the Kyverno, Gatekeeper and native policies as
 * plain YAML in dist/, one file per engine (apply one of them), plus the engines' offline test suites.
 *
 * `npx cdk8s synth` (or `npx ts-node main.ts`) here. The CA certificate is an example (its key was discarded): make
 * your own CA and serving Secret with `modelseal tls init --service modelseal-verifier --namespace modelseal-system`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
// In your app: import { ... } from 'modelseal';
import {
  AdmissionMode, GatekeeperModelPolicy, KyvernoModelPolicy, ModelVerifier, ModelVerifierProps, NativeModelPolicy,
  ServingImageVerification, VerifierImage,
} from '../../src';

const TRUST_POLICY = `apiVersion: modelseal.dev/v1
kind: TrustPolicy
metadata: { name: production }
signers:
  - name: ci
    kmsKeyArn: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
  - name: compliance
    publicKey: compliance.pub.pem
require:
  allOf: [ci, compliance]
revokers: [compliance]
`;

const COMPLIANCE_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6ZRTnJ5Ymx74H2Q6U8pAIBUQZTkO
UKtJVvn2MuxeZM5QIaVCYhfTzqSWzW9sj/EAnid5Q7zyGONEvrqe/FmkNA==
-----END PUBLIC KEY-----
`;

/** Synthesizes every engine's chart into `outdir` and the engine test suites beside them; returns the files written. */
export function synth(outdir: string): string[] {
  const app = new App({ outdir });
  const verifierProps = (clientNamespaces: string[], controlPlaneCidrs: string[] = []): ModelVerifierProps => ({
    image: VerifierImage.fromRegistry(`111122223333.dkr.ecr.eu-west-1.amazonaws.com/modelseal@sha256:${'4e'.repeat(32)}`),
    storeUri: 's3://modelseal-attestations-111122223333',
    region: 'eu-west-1',
    trustPolicy: TRUST_POLICY,
    trustPolicyFiles: [{ name: 'compliance.pub.pem', content: COMPLIANCE_KEY }],
    caCertificatePem: fs.readFileSync(path.join(__dirname, 'verifier-ca.pem'), 'utf8'),
    clientNamespaces,
    controlPlaneCidrs,
  });

  const kyverno = new Chart(app, 'kyverno');
  const kv = new KyvernoModelPolicy(kyverno, 'Policy', {
    verifier: new ModelVerifier(kyverno, 'Verifier', verifierProps(['kyverno'])),
    exemptNamespaces: ['sandbox'],
    servingImageVerification: ServingImageVerification.cosignKms('arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'),
  });

  const gatekeeper = new Chart(app, 'gatekeeper');
  const gk = new GatekeeperModelPolicy(gatekeeper, 'Policy', {
    verifier: new ModelVerifier(gatekeeper, 'Verifier', verifierProps(['gatekeeper-system'])),
    // roll out in Audit first: Constraints report (dryrun) and refuse nothing
    mode: AdmissionMode.AUDIT,
  });

  const native = new Chart(app, 'native');
  new NativeModelPolicy(native, 'Policy', {
    verifier: new ModelVerifier(native, 'Verifier', verifierProps([], ['10.0.0.0/16'])),
  });

  app.synth();
  return [
    ...fs.readdirSync(outdir).filter((f) => f.endsWith('.yaml')).map((f) => path.join(outdir, f)),
    ...kv.writeTestFiles(path.join(outdir, 'kyverno-test')),
    ...gk.writeGatorSuiteFiles(path.join(outdir, 'gator')),
  ];
}

if (require.main === module) {
  for (const f of synth(path.join(__dirname, 'dist'))) process.stdout.write(`${path.relative(__dirname, f)}\n`);
}
