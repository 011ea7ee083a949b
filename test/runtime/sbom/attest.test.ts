import { verify as cryptoVerify } from 'crypto';
import * as path from 'path';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, Verifier } from '@sigstore/verify';
import { parseRootDigest } from '../../../src/runtime/codec/digest';
import { UsageError, VerificationError } from '../../../src/runtime/codec/errors';
import { STATEMENT_TYPE } from '../../../src/runtime/codec/statement';
import { parseBundle } from '../../../src/runtime/engine/bundle';
import { hashModel, rootDigest } from '../../../src/runtime/engine/hashing';
import { IN_TOTO_PAYLOAD_TYPE, pae } from '../../../src/runtime/engine/pae';
import { signStatement } from '../../../src/runtime/engine/sign-statement';
import type { Signer } from '../../../src/runtime/engine/signer';
import {
  attestModelSbom, attestSbom, buildSbomStatement, CYCLONEDX_PREDICATE_TYPE, parseSbomStatement,
} from '../../../src/runtime/sbom/attest';
import { BomValidationError, validateBom } from '../../../src/runtime/sbom/cyclonedx';
import { loadModelCard, loadScanSummary, ModelCard } from '../../../src/runtime/sbom/model-card';
import { LocalKeySigner } from '../../../src/runtime/signers/local';
import { cleanup, ecKey, makeModel, tempDir } from '../../fixtures/models';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'sbom');

let card: ModelCard;
let dir: string;
beforeAll(async () => {
  card = await loadModelCard(path.join(FIXTURES, 'model-card.yaml'));
});
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => cleanup(dir));

describe('attestModelSbom with a local P-256 key', () => {
  test('the bundle parses, its DSSE signature verifies, and the subject is the model\'s root digest', async () => {
    const k = ecKey('P-256');
    const model = makeModel(dir);
    const scanSummary = await loadScanSummary(path.join(FIXTURES, 'scan-findings.json'));
    const r = await attestModelSbom(model, new LocalKeySigner(k.privateKey), { card, scanSummary, toolVersion: '9.9.9' });
    const root = rootDigest((await hashModel(model)).resources);

    const bundle = parseBundle(Buffer.from(r.bundleText), 'sbom bundle');
    expect(bundle.material).toEqual({ kind: 'publicKey', hint: r.keyHint });
    expect(bundle.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(cryptoVerify('sha256', pae(IN_TOTO_PAYLOAD_TYPE, bundle.payload), { key: k.publicKey, dsaEncoding: 'der' }, bundle.signature)).toBe(true);

    const statement = JSON.parse(bundle.payload.toString('utf8'));
    expect(Object.keys(statement)).toEqual(['_type', 'subject', 'predicateType', 'predicate']);
    expect(statement._type).toBe(STATEMENT_TYPE);
    expect(statement.predicateType).toBe('https://cyclonedx.org/bom');
    expect(statement.subject).toEqual([{ name: 'model', digest: { sha256: root } }]);
    expect(r.rootDigest).toBe(root);
    expect(statement.predicate).toEqual(r.bom);
    expect(statement.predicate.metadata.component.hashes).toEqual([{ alg: 'SHA-256', content: root }]);
    expect(statement.predicate.metadata.tools.components[0].version).toBe('9.9.9');
    expect(() => validateBom(statement.predicate)).not.toThrow();

    const parsed = parseSbomStatement(bundle.payload);
    expect(parsed).toEqual({ subjectName: 'model', rootDigest: root, bom: r.bom });
  });

  test('sigstore-js verifies the attestation bundle independently, and rejects an altered BOM', async () => {
    const k = ecKey('P-256');
    const r = await attestModelSbom(makeModel(dir), new LocalKeySigner(k.privateKey), { card });
    const verifier = new Verifier({
      certificateAuthorities: [],
      timestampAuthorities: [],
      tlogs: [],
      ctlogs: [],
      publicKey: (h: string) => {
        if (h !== r.keyHint) {
          throw new Error(`unknown key hint ${h}`);
        }
        return { publicKey: k.publicKey, validFor: () => true };
      },
    }, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
    expect(verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(r.bundleText)))).key).toBeDefined();

    const json = JSON.parse(r.bundleText);
    const statement = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64').toString('utf8'));
    statement.predicate.metadata.component.modelCard.quantitativeAnalysis.performanceMetrics[0].value = '0.999';
    json.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement, null, 2)).toString('base64');
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(json)))).toThrow();
  });

  test('a known root digest skips hashing (the model path only names the subject)', async () => {
    const k = ecKey('P-384');
    const root = 'c0'.repeat(32);
    const r = await attestModelSbom(path.join(dir, 'not-there', 'llm-7b'), new LocalKeySigner(k.privateKey), { card, rootDigest: `sha256:${root}` });
    const statement = parseSbomStatement(parseBundle(Buffer.from(r.bundleText)).payload);
    expect(statement.subjectName).toBe('llm-7b');
    expect(statement.rootDigest).toBe(root);
  });

  test('an invalid BOM is never signed', async () => {
    const k = ecKey('P-256');
    const signer = new LocalKeySigner(k.privateKey);
    const sign = jest.spyOn(signer, 'sign');
    // A card that slipped past the card checks (built in code): the schema check still stops it.
    const bad = { ...card, model: { ...card.model, authors: [{ email: 'not an email' }] } } as ModelCard;
    await expect(attestSbom(signer, { card: bad, rootDigest: 'ab'.repeat(32), subjectName: 'm' })).rejects.toThrow(BomValidationError);
    await expect(attestSbom(signer, { card: bad, rootDigest: 'ab'.repeat(32), subjectName: 'm' })).rejects.toThrow(
      /metadata\.component\.authors\[0\]\.email: must match format "idn-email"/);
    expect(sign).not.toHaveBeenCalled();
  });

  test('a signer whose signature does not verify is refused', async () => {
    const good = new LocalKeySigner(ecKey('P-256').privateKey);
    const other = new LocalKeySigner(ecKey('P-256').privateKey);
    const wrong: Signer = {
      publicKey: () => good.publicKey(),
      verificationMaterial: () => good.verificationMaterial(),
      sign: (m) => other.sign(m),
    };
    await expect(signStatement(buildSbomStatement('m', 'ab'.repeat(32), { bomFormat: 'CycloneDX' }), wrong)).rejects.toThrow(
      /does not verify with its own public key/);
  });
});

describe('parseRootDigest and parseSbomStatement', () => {
  test('root digests with or without the sha256: prefix; anything else is a usage error', () => {
    expect(parseRootDigest(`sha256:${'ab'.repeat(32)}`)).toBe('ab'.repeat(32));
    expect(parseRootDigest('ab'.repeat(32))).toBe('ab'.repeat(32));
    expect(() => parseRootDigest('sha256:ABC')).toThrow(UsageError);
    expect(() => parseRootDigest('sha512:' + 'ab'.repeat(32))).toThrow(/is not valid; expected sha256: followed by 64 lower-case hex/);
  });

  test('statements of another predicate type, several subjects or no BOM are refused', () => {
    const ok = buildSbomStatement('m', 'ab'.repeat(32), { bomFormat: 'CycloneDX', specVersion: '1.6' });
    const bytes = (o: unknown) => Buffer.from(JSON.stringify(o));
    expect(parseSbomStatement(bytes(ok)).rootDigest).toBe('ab'.repeat(32));
    expect(() => parseSbomStatement(bytes({ ...ok, predicateType: 'https://model_signing/signature/v1.0' })))
      .toThrow(new VerificationError(`statement predicateType is "https://model_signing/signature/v1.0"; expected "${CYCLONEDX_PREDICATE_TYPE}"`));
    expect(() => parseSbomStatement(bytes({ ...ok, subject: [...(ok.subject as unknown[]), ...(ok.subject as unknown[])] }))).toThrow(/has 2 subjects/);
    expect(() => parseSbomStatement(bytes({ ...ok, subject: [{ name: 'm', digest: { sha256: 'xyz' } }] }))).toThrow(/subject must be/);
    expect(() => parseSbomStatement(bytes({ ...ok, predicate: { spdxVersion: 'SPDX-2.3' } }))).toThrow(/not a CycloneDX BOM/);
    expect(() => parseSbomStatement(Buffer.from('{'))).toThrow(VerificationError);
  });
});
