import { generateKeyPairSync, verify } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseBundle } from '../../../src/runtime/engine/bundle';
import { IN_TOTO_PAYLOAD_TYPE, pae } from '../../../src/runtime/engine/pae';
import { attestProvenance, buildProvenance, MODELSEAL_BUILD_TYPE, SLSA_PROVENANCE_PREDICATE_TYPE } from '../../../src/runtime/provenance/slsa';
import { LocalKeySigner } from '../../../src/runtime/signers/local';

const ROOT = 'c'.repeat(64);
const IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:${'d'.repeat(64)}`;

describe('SLSA v1 provenance', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelseal-prov-'));
    fs.mkdirSync(path.join(dir, 'inputs', 'part'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'inputs', 'a.csv'), 'x,y\n1,2\n');
    fs.writeFileSync(path.join(dir, 'inputs', 'part', 'b.parquet'), Buffer.alloc(1000, 7));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('records the subject, the builder image by digest and every input with its SHA-256', async () => {
    const st = await buildProvenance({
      rootDigest: ROOT,
      subjectName: 'fraud',
      builderImage: IMAGE,
      buildId: 'build:1',
      source: 's3://data/runs/',
      triggerKey: 'runs/2026-11-28.parquet',
      inputDir: path.join(dir, 'inputs'),
      finishedOn: new Date('2026-11-28T06:00:00Z'),
    }) as any;
    expect(st._type).toBe('https://in-toto.io/Statement/v1');
    expect(st.predicateType).toBe(SLSA_PROVENANCE_PREDICATE_TYPE);
    expect(st.subject).toEqual([{ name: 'fraud', digest: { sha256: ROOT } }]);
    expect(st.predicate.buildDefinition.buildType).toBe(MODELSEAL_BUILD_TYPE);
    expect(st.predicate.buildDefinition.externalParameters).toEqual({
      modelName: 'fraud', source: 's3://data/runs/', triggerKey: 'runs/2026-11-28.parquet',
    });
    expect(st.predicate.buildDefinition.resolvedDependencies).toEqual([
      { uri: 'oci://111122223333.dkr.ecr.eu-west-1.amazonaws.com/trainer', digest: { sha256: 'd'.repeat(64) } },
      { uri: 's3://data/runs/a.csv', name: 'a.csv', digest: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } },
      { uri: 's3://data/runs/part/b.parquet', name: 'part/b.parquet', digest: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } },
    ]);
    expect(st.predicate.runDetails.metadata).toEqual({ invocationId: 'build:1', finishedOn: '2026-11-28T06:00:00.000Z' });
  });

  test('an image without a digest is refused; accepted only on request, and then recorded with a warning, never a made-up digest', async () => {
    await expect(buildProvenance({ rootDigest: ROOT, subjectName: 'm', builderImage: 'trainer:latest', buildId: 'b' }))
      .rejects.toThrow('provenance: the builder image "trainer:latest" is not pinned by digest (<repository>@sha256:<64 hex>)');
    const st = await buildProvenance({ rootDigest: ROOT, subjectName: 'm', builderImage: 'trainer:latest', buildId: 'b', allowUnpinnedBuilder: true }) as any;
    expect(st.predicate.buildDefinition.resolvedDependencies[0]).toEqual({
      uri: 'oci://trainer:latest', digest: {}, annotations: { warning: 'the build image was not pinned by digest' },
    });
  });

  test('signs into a DSSE bundle that verifies with the signer key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = new LocalKeySigner(privateKey);
    const out = await attestProvenance(signer, { rootDigest: ROOT, subjectName: 'm', builderImage: IMAGE, buildId: 'b' });
    const bundle = parseBundle(Buffer.from(out.bundleText), 'provenance');
    expect(verify('sha256', pae(IN_TOTO_PAYLOAD_TYPE, bundle.payload), { key: publicKey, dsaEncoding: 'der' }, bundle.signature)).toBe(true);
  });

  test('fails when the digest is malformed, the build id empty, or the input directory unreadable', async () => {
    await expect(buildProvenance({ rootDigest: 'abc', subjectName: 'm', builderImage: IMAGE, buildId: 'b' }))
      .rejects.toThrow("provenance: the root digest must be 64 lower-case hex characters, got 'abc'");
    await expect(buildProvenance({ rootDigest: ROOT, subjectName: 'm', builderImage: IMAGE, buildId: ' ' }))
      .rejects.toThrow('provenance: --build-id must not be empty');
    await expect(buildProvenance({ rootDigest: ROOT, subjectName: 'm', builderImage: IMAGE, buildId: 'b', inputDir: path.join(dir, 'nope') }))
      .rejects.toThrow(/cannot read the input directory .*nope/);
  });
});
