/**
 * A mocked AWS Signer backed by a real test PKI (see test-ca.ts), so every envelope SignPayload returns is a real
 * Notation JWS: ES384 over `BASE64URL(protected) '.' BASE64URL(payload)` by the test leaf key, with the test chain
 * in x5c and the protected header AWS Signer writes (signing scheme `notary.x509.signingAuthority`, authentic
 * signing time, expiry, the AWS Signer verification plugin, and the signing profile version and job ARNs, all
 * critical).
 *
 * GetRevocationStatus checks its input as the service does (all five parameters, the Notation platform id, hash
 * shape) and answers with the inputs that are in the configurable revoked set. Errors use the service's exception
 * classes.
 */
import { randomUUID, sign as cryptoSign } from 'crypto';
import {
  AccessDeniedException,
  GetRevocationStatusCommand,
  type GetRevocationStatusCommandInput,
  ResourceNotFoundException,
  SignerClient,
  SignPayloadCommand,
  type SignPayloadCommandInput,
  ValidationException,
} from '@aws-sdk/client-signer';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import type { TestCa } from './test-ca';
import { AWS_SIGNER_VERIFICATION_PLUGIN, NOTATION_PAYLOAD_MEDIA_TYPE, NOTATION_PLATFORM_ID } from '../../src/runtime/signers/aws-signer';

/** Options of {@link SignerMock}. */
export interface SignerMockOptions {
  /** The PKI that signs. */
  readonly ca: TestCa;
  /** @default 'us-west-2' */
  readonly region?: string;
  /** Account that owns the profiles and the jobs. @default '123456789012' */
  readonly account?: string;
  /** Signing profile names that exist. @default ['modelseal_ci'] */
  readonly profiles?: readonly string[];
}

/** Hooks a test can set to shape the next envelopes. */
export interface EnvelopeOverrides {
  /** The authentic signing time to write. @default now */
  signingTime?: Date;
  /** Rewrites the protected header before it is signed. */
  protectedHeader?: (h: Record<string, unknown>) => Record<string, unknown>;
  /** The x5c to send (base64 DER); @default the CA's leaf, intermediate, root. */
  x5c?: string[];
}

const PROFILE_VERSION = 'a1B2c3D4e5';

/** A SignerClient mock with a real PKI behind SignPayload. */
export class SignerMock {
  /** The aws-sdk-client-mock stub (mocks every SignerClient instance until {@link restore}). */
  public readonly stub: AwsClientStub<SignerClient>;
  /** A client to pass to the code under test. */
  public readonly client: SignerClient;
  /** Profile version ARNs, job ARNs, profile ARNs or certificate hashes that GetRevocationStatus reports revoked. */
  public readonly revoked = new Set<string>();
  /** When set, GetRevocationStatus throws it (to test failing closed). */
  public revocationError?: Error;
  /** Shapes the next envelopes. */
  public overrides: EnvelopeOverrides = {};
  /** Job ARNs issued so far, in order. */
  public readonly jobs: string[] = [];
  /** Every GetRevocationStatus input received. */
  public readonly revocationQueries: GetRevocationStatusCommandInput[] = [];

  private readonly ca: TestCa;
  private readonly region: string;
  private readonly account: string;
  private readonly profiles: readonly string[];

  public constructor(opts: SignerMockOptions) {
    this.ca = opts.ca;
    this.region = opts.region ?? 'us-west-2';
    this.account = opts.account ?? '123456789012';
    this.profiles = opts.profiles ?? ['modelseal_ci'];
    this.stub = mockClient(SignerClient);
    this.client = new SignerClient({ region: this.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    this.stub.on(SignPayloadCommand).callsFake((input: SignPayloadCommandInput) => this.signPayload(input));
    this.stub.on(GetRevocationStatusCommand).callsFake((input: GetRevocationStatusCommandInput) => this.getRevocationStatus(input));
  }

  /** `arn:aws:signer:<region>:<account>:/signing-profiles/<name>`. */
  public profileArn(name = this.profiles[0]): string {
    return `arn:aws:signer:${this.region}:${this.account}:/signing-profiles/${name}`;
  }

  /** The (single) version ARN of a profile. */
  public profileVersionArn(name = this.profiles[0]): string {
    return `${this.profileArn(name)}/${PROFILE_VERSION}`;
  }

  /** Removes the mock from SignerClient. */
  public restore(): void {
    this.stub.restore();
  }

  private signPayload(input: SignPayloadCommandInput) {
    if (input.payloadFormat !== NOTATION_PAYLOAD_MEDIA_TYPE) {
      throw new ValidationException({ message: `Unsupported payloadFormat ${input.payloadFormat}`, $metadata: {} });
    }
    if (!input.payload || input.payload.length === 0) {
      throw new ValidationException({ message: 'payload is required', $metadata: {} });
    }
    if (input.profileOwner !== undefined && input.profileOwner !== this.account) {
      throw new AccessDeniedException({ message: `not authorized to use profiles of account ${input.profileOwner}`, $metadata: {} });
    }
    if (!input.profileName || !this.profiles.includes(input.profileName)) {
      throw new ResourceNotFoundException({ message: `Signing profile ${input.profileName} not found`, $metadata: {} });
    }
    const jobId = randomUUID();
    const jobArn = `arn:aws:signer:${this.region}:${this.account}:/signing-jobs/${jobId}`;
    this.jobs.push(jobArn);
    const signingTime = this.overrides.signingTime ?? new Date();
    const expiry = new Date(signingTime.getTime() + 365 * 24 * 3600 * 1000);
    let header: Record<string, unknown> = {
      'alg': 'ES384',
      'cty': NOTATION_PAYLOAD_MEDIA_TYPE,
      'io.cncf.notary.signingScheme': 'notary.x509.signingAuthority',
      'io.cncf.notary.authenticSigningTime': rfc3339(signingTime),
      'io.cncf.notary.expiry': rfc3339(expiry),
      'io.cncf.notary.verificationPlugin': AWS_SIGNER_VERIFICATION_PLUGIN,
      'com.amazonaws.signer.signingProfileVersion': this.profileVersionArn(input.profileName),
      'com.amazonaws.signer.signingJob': jobArn,
      'crit': [
        'io.cncf.notary.signingScheme',
        'io.cncf.notary.authenticSigningTime',
        'io.cncf.notary.expiry',
        'io.cncf.notary.verificationPlugin',
        'com.amazonaws.signer.signingProfileVersion',
        'com.amazonaws.signer.signingJob',
      ],
    };
    if (this.overrides.protectedHeader) {
      header = this.overrides.protectedHeader(header);
    }
    const protectedB64 = Buffer.from(JSON.stringify(header)).toString('base64url');
    const payloadB64 = Buffer.from(input.payload).toString('base64url');
    // Real AWS Signer only makes ES384; ES256 is here to test the verifier's P-256 path.
    const hash = header.alg === 'ES256' ? 'sha256' : 'sha384';
    const sig = cryptoSign(hash, Buffer.from(`${protectedB64}.${payloadB64}`), { key: this.ca.leafKey, dsaEncoding: 'ieee-p1363' });
    const envelope = {
      payload: payloadB64,
      protected: protectedB64,
      header: { x5c: this.overrides.x5c ?? this.ca.chainDer.map((d) => d.toString('base64')) },
      signature: sig.toString('base64url'),
    };
    return {
      jobId,
      jobOwner: this.account,
      metadata: { signingProfileVersionArn: this.profileVersionArn(input.profileName), signingJobArn: jobArn },
      signature: new Uint8Array(Buffer.from(JSON.stringify(envelope))),
    };
  }

  private getRevocationStatus(input: GetRevocationStatusCommandInput) {
    this.revocationQueries.push(input);
    if (this.revocationError) {
      throw this.revocationError;
    }
    const missing = (['signatureTimestamp', 'platformId', 'profileVersionArn', 'jobArn', 'certificateHashes'] as const)
      .filter((k) => input[k] === undefined);
    if (missing.length > 0) {
      throw new ValidationException({ message: `missing required parameter(s) ${missing.join(', ')}`, $metadata: {} });
    }
    if (!(input.signatureTimestamp instanceof Date)) {
      throw new ValidationException({ message: 'signatureTimestamp must be a timestamp', $metadata: {} });
    }
    if (input.platformId !== NOTATION_PLATFORM_ID) {
      throw new ValidationException({ message: `unknown platformId ${input.platformId}`, $metadata: {} });
    }
    if (!input.certificateHashes!.every((h) => /^[0-9a-f]{192}$/.test(h))) {
      throw new ValidationException({ message: 'certificateHashes must be two hex SHA-384 digests each', $metadata: {} });
    }
    const revokedEntities: string[] = [];
    const pva = input.profileVersionArn!;
    if (this.revoked.has(pva) || this.revoked.has(pva.slice(0, pva.lastIndexOf('/')))) {
      revokedEntities.push(pva);
    }
    if (this.revoked.has(input.jobArn!)) {
      revokedEntities.push(input.jobArn!);
    }
    revokedEntities.push(...input.certificateHashes!.filter((h) => this.revoked.has(h)));
    return { revokedEntities };
  }
}

/** RFC 3339 without fractional seconds, as the Notary spec recommends. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
