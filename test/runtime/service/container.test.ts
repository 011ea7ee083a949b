/**
 * The verifier image and its command line. No Docker engine exists here, so the Dockerfile is checked for what makes
 * the image safe (a base pinned by digest, the bundle only, a non-root user, nothing written outside /tmp, `serve` as
 * the entrypoint), and the very command line the ModelVerifier construct renders is run directly with the bundle.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';
import { Testing } from 'cdk8s';
import { ModelVerifier, VerifierImage } from '../../../src';
import { cleanup } from '../../fixtures/models';
import { CLI_BUNDLE, ensureCliBundle, REPO_ROOT } from '../../helpers/cli-bundle';
import { admissionReview, modelPod, providerRequest, request, SERVICE_NAME, verifierWorld, VerifierWorld } from '../../helpers/verifier';

const DOCKERFILE = fs.readFileSync(path.join(REPO_ROOT, 'src', 'runtime', 'service', 'Dockerfile'), 'utf8');
const ENTRYPOINT = fs.readFileSync(path.join(REPO_ROOT, 'src', 'runtime', 'service', 'container-entrypoint'), 'utf8');
/** Dockerfile instructions (continuation lines joined, comments dropped). */
const INSTRUCTIONS = DOCKERFILE.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
const named = (op: string) => INSTRUCTIONS.filter((l) => l.startsWith(`${op} `));

describe('Dockerfile', () => {
  test('one base image: distroless Node.js 22, nonroot variant, pinned by a sha256 digest', () => {
    expect(named('FROM')).toEqual([expect.stringMatching(/^FROM gcr\.io\/distroless\/nodejs22-debian12:nonroot@sha256:[0-9a-f]{64}$/)]);
  });

  test('the bundle only: no RUN, no ADD, no node_modules; COPY takes built files from assets/', () => {
    expect(named('RUN')).toEqual([]);
    expect(named('ADD')).toEqual([]);
    expect(INSTRUCTIONS.join('\n')).not.toMatch(/node_modules/);
    const sources = named('COPY').flatMap((l) => l.replace(/^COPY\s+(--\S+\s+)*/, '').split(/\s+/).slice(0, -1));
    expect(sources.sort()).toEqual(['container-entrypoint', 'modelseal-cli.cdx.json', 'modelseal-cli.js', 'modelseal-cli.js.LEGAL.txt']);
    ensureCliBundle();
    for (const s of sources) expect(fs.existsSync(path.join(REPO_ROOT, 'assets', s))).toBe(true);
    // the code is read-only for the process
    expect(named('COPY').every((l) => /--chmod=0(444|555) /.test(l))).toBe(true);
  });

  test('runs as the non-root uid the constructs expect, writes only to /tmp, and starts `modelseal serve`', () => {
    expect(named('USER')).toEqual(['USER 65532:65532']);
    expect(named('WORKDIR')).toEqual(['WORKDIR /tmp']);
    expect(named('ENV').join(' ')).toMatch(/HOME=\/tmp/);
    expect(named('ENTRYPOINT')).toEqual(['ENTRYPOINT ["/usr/local/bin/modelseal"]']);
    expect(named('CMD')).toEqual(['CMD ["serve"]']);
    expect(named('EXPOSE')).toEqual(['EXPOSE 8443']);
  });

  test('`modelseal` in the image is a launcher the kernel runs with the image\'s Node.js, loading the copied bundle', () => {
    expect(ENTRYPOINT.split('\n')[0]).toBe('#!/nodejs/bin/node');
    expect(ENTRYPOINT).toMatch(/require\('\/app\/modelseal-cli\.js'\)/);
    expect(DOCKERFILE).toMatch(/COPY --chmod=0555 container-entrypoint \/usr\/local\/bin\/modelseal/);
    expect(DOCKERFILE).toMatch(/modelseal-cli\.js .*\/app\//);
  });

  test('the build copies the Dockerfile and the launcher beside the bundle (the image\'s build context)', () => {
    ensureCliBundle();
    expect(fs.readFileSync(path.join(REPO_ROOT, 'assets', 'Dockerfile'), 'utf8')).toBe(DOCKERFILE);
    expect(fs.readFileSync(path.join(REPO_ROOT, 'assets', 'container-entrypoint'), 'utf8')).toBe(ENTRYPOINT);
  });
});

describe('the command line ModelVerifier renders, run directly', () => {
  let world: VerifierWorld;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    ensureCliBundle();
    world = await verifierWorld();
  });

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    cleanup(world.dir);
  });

  function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      }).on('error', reject);
    });
  }

  test('serves all three protocols, then shuts down on SIGTERM with a request in flight (exit 0)', async () => {
    const chart = Testing.chart();
    new ModelVerifier(chart, 'Verifier', {
      image: VerifierImage.fromRegistry(`registry.example/modelseal@sha256:${'ef'.repeat(32)}`),
      storeUri: 's3://attestations-bucket',
      trustPolicy: 'placeholder: true',
      caCertificatePem: world.tls.caPem,
      clientNamespaces: ['kyverno'],
      exemptNamespaces: ['sandbox'],
    });
    const deployment = Testing.synth(chart).find((o) => o.kind === 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    expect(container.command).toEqual(['modelseal']);
    expect(container.args[0]).toBe('serve');
    const port = await freePort();
    // the pod's mounts and address, mapped to this machine: loopback only, the world's store, policy and TLS files
    const args = (container.args as string[]).map((a) => a
      .replace(/^0\.0\.0\.0:8443$/, `127.0.0.1:${port}`)
      .replace(/^\/etc\/modelseal\/tls\/tls\.crt$/, world.tls.certFile)
      .replace(/^\/etc\/modelseal\/tls\/tls\.key$/, world.tls.keyFile)
      .replace(/^\/etc\/modelseal\/policy\/policy\.yaml$/, world.policyFile)
      .replace(/^s3:\/\/attestations-bucket$/, world.store.uri));
    expect(args).toContain('--tls-min-version');
    expect(args).toContain(world.store.uri);
    let stdout = '';
    let stderr = '';
    child = spawn(process.execPath, [CLI_BUNDLE, ...args], { cwd: world.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const url = `https://127.0.0.1:${port}`;
    const ca = world.tls.caPem;
    const until = Date.now() + 20_000;
    for (;;) {
      try {
        if ((await request(`${url}/readyz`, { ca, timeoutMs: 1000 })).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > until || child.exitCode !== null) throw new Error(`the verifier did not become ready: ${stderr}${stdout}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    expect((await request(`${url}/kyverno`, { body: { digest: world.digests.allowed }, ca })).body.allowed).toBe(true);
    expect((await request(`${url}/gatekeeper`, { body: providerRequest([world.digests.revoked]), ca })).body.response.items[0].error).toMatch(/revoked by compliance/);
    const review = await request(`${url}/validate`, { body: admissionReview(modelPod(world.digests.oneSigner)), ca });
    expect(review.body.response.allowed).toBe(false);
    const exempt = await request(`${url}/validate`, { body: admissionReview(modelPod(world.digests.unsigned), { namespace: 'sandbox' }), ca });
    expect(exempt.body.response.allowed).toBe(true);
    // the construct's default is TLS 1.3 (Gatekeeper's minimum): a TLS 1.2 client is refused
    await expect(request(`${url}/healthz`, { ca, agent: new https.Agent({ maxVersion: 'TLSv1.2' }) })).rejects.toThrow();

    // a request in flight: its headers and half its body are sent, then SIGTERM, then the rest of the body
    const body = JSON.stringify({ digest: world.digests.tampered });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const answer = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = https.request(`${url}/kyverno`, {
        method: 'POST',
        ca,
        servername: SERVICE_NAME,
        agent: false,
        checkServerIdentity: (_h, cert) => tls.checkServerIdentity(SERVICE_NAME, cert),
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.once('socket', (socket) => socket.once('secureConnect', async () => {
        await sleep(200);
        child!.kill('SIGTERM');
        await sleep(200);
        req.end(body.slice(10));
      }));
      req.write(body.slice(0, 10));
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ allowed: false, reasons: [expect.stringMatching(/missing: ci/), expect.stringMatching(/tampered/)] });
    expect(await exited).toBe(0);
    const lines = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.event === 'decision').length).toBeGreaterThanOrEqual(5);
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/^shutting down \(SIGTERM\)/), 'verifier stopped']));
    expect(stderr).toBe('');
  });
});
