import * as iam from 'aws-cdk-lib/aws-iam';
import { IModelSigningKey, ModelSigningKeySpec } from './signing-key';

/** The in-toto predicate type of the AI SBOM attestation (CycloneDX 1.6). */
export const SBOM_PREDICATE_TYPE = 'https://cyclonedx.org/bom';

/** The in-toto predicate type of the SLSA v1 provenance attestation. */
export const PROVENANCE_PREDICATE_TYPE = 'https://slsa.dev/provenance/v1';

/** A signer party name, as the trust policy schema allows it. */
export const SIGNER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Options of a signer party whose signing key the pipeline creates.
 */
export interface NewSignerPartyOptions {
  /**
   * The key spec of the party's `ModelSigningKey`.
   *
   * @default ModelSigningKeySpec.ECC_NIST_P256
   */
  readonly keySpec?: ModelSigningKeySpec;

  /**
   * The alias of the party's key.
   *
   * @default 'alias/modelseal/<party name>'
   */
  readonly aliasName?: string;

  /**
   * Who may assume the party's signer role (the build's party signs with the runner's role instead).
   *
   * @default - the account (`AccountRootPrincipal`): IAM policies in the account decide who may assume it
   */
  readonly assumedBy?: iam.IPrincipal;
}

/**
 * One named party that signs or revokes models: the `signers[]` entry of the trust policy and, in AWS, its key.
 *
 * The pipeline gives each party with a key in this app its own signer role (or, for the build's party, the runner's
 * role); the trust policy names the party's key by ARN (`kmsKeyArn`), or carries its public key PEM for a party
 * that signs outside AWS KMS (a PKCS#11 HSM, a CloudHSM cluster).
 *
 * @see https://github.com/modelseal/modelseal/blob/main/docs/TRUST-POLICY.md
 */
export class SignerParty {
  /**
   * A party whose `ModelSigningKey` the pipeline creates (HSM-backed AWS KMS, P-256 by default).
   *
   * @param name the party's name in the trust policy (`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`), e.g. `ci`
   */
  public static withNewKey(name: string, options: NewSignerPartyOptions = {}): SignerParty {
    return new SignerParty(name, options, undefined, undefined);
  }

  /**
   * A party that signs with a KMS key made elsewhere (imported with `ModelSigningKey.fromKeyArn`): its grants
   * are IAM-only, its key policy is not changed from here.
   *
   * @param name the party's name in the trust policy
   */
  public static withExistingKey(name: string, key: IModelSigningKey, options: NewSignerPartyOptions = {}): SignerParty {
    return new SignerParty(name, options, key, undefined);
  }

  /**
   * A party that signs outside AWS KMS (a PKCS#11 HSM, a local key in development): the trust policy carries its
   * public key, and the pipeline makes no key and no role for it.
   *
   * @param name the party's name in the trust policy
   * @param publicKeyPem its EC public key, SPKI PEM (`-----BEGIN PUBLIC KEY-----`)
   */
  public static withPublicKey(name: string, publicKeyPem: string): SignerParty {
    return new SignerParty(name, {}, undefined, publicKeyPem);
  }

  /** The party's name in the trust policy. */
  public readonly name: string;

  /** Options of a new key and signer role. */
  public readonly options: NewSignerPartyOptions;

  /** The existing key, for `withExistingKey`. */
  public readonly existingKey?: IModelSigningKey;

  /** The public key PEM, for `withPublicKey`. */
  public readonly publicKeyPem?: string;

  private constructor(name: string, options: NewSignerPartyOptions, existingKey?: IModelSigningKey, publicKeyPem?: string) {
    this.name = name;
    this.options = options;
    this.existingKey = existingKey;
    this.publicKeyPem = publicKeyPem;
  }
}

/**
 * Which parties must sign one and the same manifest (`require` in the trust policy).
 */
export class SignerRequirement {
  /**
   * Every named party must sign.
   *
   * @param names party names (at least one)
   */
  public static allOf(names: string[]): SignerRequirement {
    return new SignerRequirement(names, undefined);
  }

  /**
   * At least `count` of the named parties must sign.
   *
   * @param count 1 ≤ count ≤ names.length
   * @param names party names
   */
  public static atLeast(count: number, names: string[]): SignerRequirement {
    return new SignerRequirement(names, count);
  }

  /** The party names. */
  public readonly names: string[];

  /** The threshold, for `atLeast`; undefined for `allOf`. */
  public readonly count?: number;

  private constructor(names: string[], count?: number) {
    this.names = [...names];
    this.count = count;
  }
}

/**
 * An attestation every admitted model must carry (`attestations[]` in the trust policy).
 */
export class AttestationRequirement {
  /**
   * The CycloneDX 1.6 AI SBOM (`https://cyclonedx.org/bom`).
   *
   * @param signers the parties that must have signed it (all of them)
   */
  public static sbom(signers: string[]): AttestationRequirement {
    return new AttestationRequirement(SBOM_PREDICATE_TYPE, signers);
  }

  /**
   * The SLSA v1 build provenance (`https://slsa.dev/provenance/v1`).
   *
   * @param signers the parties that must have signed it (all of them)
   */
  public static provenance(signers: string[]): AttestationRequirement {
    return new AttestationRequirement(PROVENANCE_PREDICATE_TYPE, signers);
  }

  /**
   * Any other predicate type.
   *
   * @param predicateType the in-toto predicate type URI
   * @param signers the parties that must have signed it (all of them)
   */
  public static of(predicateType: string, signers: string[]): AttestationRequirement {
    return new AttestationRequirement(predicateType, signers);
  }

  /** The in-toto predicate type. */
  public readonly predicateType: string;

  /** The parties that must have signed it. */
  public readonly signers: string[];

  private constructor(predicateType: string, signers: string[]) {
    this.predicateType = predicateType;
    this.signers = [...signers];
  }
}
