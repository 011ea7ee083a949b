/**
 * The trust policy's JSON Schema (draft 2020-12), as data.
 *
 * `schemas/trust-policy.v1.schema.json` is this object rendered by {@link renderTrustPolicySchema}; a test keeps the
 * two identical, so editors and CI tools validate against exactly what `modelseal policy validate` enforces.
 * Every object refuses unknown fields: a misspelt `publickey` must never silently turn into "no key".
 */

/** `apiVersion` of this policy format. */
export const TRUST_POLICY_API_VERSION = 'modelseal.dev/v1';
/** `kind` of a trust policy document. */
export const TRUST_POLICY_KIND = 'TrustPolicy';
/** `$id` of the published schema. */
export const TRUST_POLICY_SCHEMA_ID = 'https://modelseal.dev/schemas/trust-policy.v1.schema.json';

/** Signer names: short identifiers that read well in reports (`ci`, `compliance`, `lead-ds`). */
export const SIGNER_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$';

const signerName = {
  type: 'string',
  pattern: SIGNER_NAME_PATTERN,
  description: 'A signer name defined under `signers`.',
};

const nameList = {
  type: 'array',
  items: { $ref: '#/$defs/signerName' },
  minItems: 1,
  uniqueItems: true,
};

/*
 * Inlined where it is an alternative branch (not a $ref), so error paths stay nested and readable.
 */
const requirement = {
  type: 'object',
  oneOf: [
    {
      additionalProperties: false,
      required: ['allOf'],
      properties: { allOf: nameList },
    },
    {
      additionalProperties: false,
      required: ['atLeast', 'of'],
      properties: {
        atLeast: { type: 'integer', minimum: 1 },
        of: nameList,
      },
    },
  ],
  description: 'a requirement is either {allOf: [names]} or {atLeast: N, of: [names]}',
};

const keySource = {
  type: 'string',
  minLength: 1,
  description: 'A PEM file path (relative to the policy file) or the PEM text itself.',
};

/**
 * The JSON Schema of a trust policy document.
 *
 * `description` texts on `anyOf`/`oneOf` nodes double as the error message `policy validate` prints when none of
 * the alternatives fits, so they say what would be valid.
 */
export const TRUST_POLICY_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: TRUST_POLICY_SCHEMA_ID,
  title: 'ModelSeal trust policy',
  description: 'Which named signers must sign a model digest, which attestations (with CEL conditions) must accompany it, and who may revoke it.',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'signers', 'require'],
  properties: {
    apiVersion: { const: TRUST_POLICY_API_VERSION, description: `Always "${TRUST_POLICY_API_VERSION}".` },
    kind: { const: TRUST_POLICY_KIND, description: `Always "${TRUST_POLICY_KIND}".` },
    metadata: {
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1 },
        description: { type: 'string' },
      },
    },
    signers: {
      type: 'array',
      minItems: 1,
      items: { $ref: '#/$defs/signer' },
      description: 'Named signers, each with one or more keys (several keys let a signer rotate keys).',
    },
    require: { $ref: '#/$defs/requirement' },
    attestations: {
      type: 'array',
      items: { $ref: '#/$defs/attestation' },
      description: 'Attestations that must accompany the model signatures.',
    },
    revokers: {
      ...nameList,
      minItems: 0,
      description: 'Signers whose revocation records deny the digest. Revocations by anyone else are reported and ignored.',
    },
    timestampAuthorities: {
      type: 'array',
      minItems: 1,
      items: { $ref: '#/$defs/keySource' },
      description: 'Trusted RFC 3161 timestamp authority certificates (roots, or the TSA certificates themselves), PEM: paths or inline. '
        + 'With them, a key or certificate bundle\'s timestamps are verified and its certificates are checked at the timestamp\'s time instead of now.',
    },
    allowLegacyFormats: {
      type: 'boolean',
      description: 'Count model signatures and attestations in the older formats `verify` accepts with a warning (publicKey.rawBytes material, the Digests/v0.1 predicate, the v0.2 PAE). Default false: only current OMS v1.0 bundles count.',
    },
  },
  $defs: {
    signerName,
    keySource,
    signer: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      anyOf: [
        { required: ['publicKey'] },
        { required: ['publicKeys'] },
        { required: ['kmsKeyArn'] },
        { required: ['kmsKeyArns'] },
        { required: ['certificate'] },
        { required: ['certificates'] },
        { required: ['awsSigner'] },
        { required: ['sigstore'] },
      ],
      description: 'a signer needs at least one key: publicKey, publicKeys, kmsKeyArn, kmsKeyArns, certificate, certificates, awsSigner or sigstore',
      properties: {
        name: { $ref: '#/$defs/signerName' },
        publicKey: { $ref: '#/$defs/keySource' },
        publicKeys: { type: 'array', minItems: 1, items: { $ref: '#/$defs/keySource' } },
        kmsKeyArn: { $ref: '#/$defs/kmsKeyArn' },
        kmsKeyArns: { type: 'array', minItems: 1, uniqueItems: true, items: { $ref: '#/$defs/kmsKeyArn' } },
        certificate: { $ref: '#/$defs/certificateIdentity' },
        certificates: { type: 'array', minItems: 1, items: { $ref: '#/$defs/certificateIdentity' } },
        awsSigner: { $ref: '#/$defs/awsSigner' },
        sigstore: { $ref: '#/$defs/sigstoreIdentity' },
      },
    },
    kmsKeyArn: {
      type: 'string',
      pattern: '^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$',
      description: 'An AWS KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>); its public key is read with GetPublicKey.',
    },
    certificateIdentity: {
      type: 'object',
      additionalProperties: false,
      required: ['trustAnchor'],
      oneOf: [
        { required: ['subjectAlternativeName'] },
        { required: ['email'] },
        { required: ['uri'] },
        { required: ['commonName'] },
      ],
      description: 'a certificate identity names exactly one of subjectAlternativeName, email, uri or commonName (matched exactly)',
      properties: {
        trustAnchor: { $ref: '#/$defs/keySource', description: 'CA certificate(s), PEM: a path relative to the policy file or inline PEM.' },
        subjectAlternativeName: { type: 'string', minLength: 1, description: 'Any subject alternative name value (DNS, email, URI or IP), exactly.' },
        email: { type: 'string', minLength: 1, description: 'An rfc822Name subject alternative name, exactly.' },
        uri: { type: 'string', minLength: 1, description: 'A URI subject alternative name, exactly.' },
        commonName: { type: 'string', minLength: 1, description: 'The subject CN, exactly.' },
      },
    },
    sigstoreIdentity: {
      type: 'object',
      additionalProperties: false,
      required: ['issuer'],
      oneOf: [
        { required: ['identity'] },
        { required: ['identityRegex'] },
      ],
      description: 'a sigstore identity names its OIDC issuer and exactly one of identity (exact) or identityRegex',
      properties: {
        identity: { type: 'string', minLength: 1, description: 'A subject alternative name of the Fulcio certificate (the OIDC email or workload URI), exactly.' },
        identityRegex: { type: 'string', minLength: 1, description: 'A JavaScript regular expression that must match a whole subject alternative name (it is anchored as ^(?:…)$).' },
        issuer: { type: 'string', minLength: 1, description: 'The OIDC issuer the Fulcio certificate records (extension 1.3.6.1.4.1.57264.1.8), exactly.' },
        trustedRoot: {
          type: 'string',
          minLength: 1,
          description: 'A Sigstore trusted_root.json (path relative to the policy file); default: the public-good root shipped with modelseal.',
        },
      },
    },
    awsSigner: {
      type: 'object',
      additionalProperties: false,
      required: ['profileArn', 'trustedRoot'],
      properties: {
        profileArn: {
          type: 'string',
          pattern: '^arn:aws[a-z-]*:signer:[a-z0-9-]+:[0-9]{12}:/signing-profiles/[A-Za-z0-9_]{2,64}(?:/[A-Za-z0-9]{10})?$',
          description: 'The AWS Signer signing profile ARN (optionally with its version).',
        },
        trustedRoot: { $ref: '#/$defs/keySource', description: 'The AWS Signer root certificate, PEM: a path or inline PEM.' },
      },
    },
    requirement,
    attestation: {
      type: 'object',
      additionalProperties: false,
      required: ['predicateType'],
      properties: {
        predicateType: { type: 'string', minLength: 1, description: 'The in-toto predicateType, e.g. https://cyclonedx.org/bom.' },
        signers: {
          anyOf: [nameList, requirement],
          description: 'signers is a list of names (all must sign) or {allOf: [names]} or {atLeast: N, of: [names]}',
        },
        conditions: {
          type: 'array',
          items: { $ref: '#/$defs/condition' },
        },
      },
    },
    condition: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'expression'],
      properties: {
        name: { type: 'string', minLength: 1 },
        expression: { type: 'string', minLength: 1, description: 'A CEL expression over `predicate` that must evaluate to true.' },
        message: { type: 'string', description: 'Shown when the condition fails.' },
      },
    },
  },
} as const;

/** The schema as the published file holds it: two-space JSON with a trailing newline. */
export function renderTrustPolicySchema(): string {
  return JSON.stringify(TRUST_POLICY_SCHEMA, null, 2) + '\n';
}
