/**
 * The IAM and KMS action lists of the Nitro Enclave serving tier (ModelWeightsKey, EnclaveServingTier): one place for a
 * reviewer to read, beside the library's other lists in perms.ts. No list holds a wildcard.
 *
 * KMS condition keys for Nitro Enclaves: `kms:RecipientAttestation:ImageSha384` (PCR0) and
 * `kms:RecipientAttestation:PCR<n>`, present only when the request carries a `Recipient` attestation document.
 *
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/conditions-nitro-enclaves.html
 */

/** What the enclave calls on the weights key, only with an attestation of an allowed image: `kms:Decrypt`. */
export const WEIGHTS_KEY_DECRYPT_ACTIONS = ['kms:Decrypt'];

/** What the seal build calls on the weights key: a data key to encrypt with (`GenerateDataKey`), or `Encrypt`. */
export const WEIGHTS_KEY_ENCRYPT_ACTIONS = ['kms:Encrypt', 'kms:GenerateDataKey'];

/**
 * Every action that makes or re-wraps a data key under the weights key. Denied to every principal but the sealers: a
 * host that could make a data key could seal weights of its choosing that the enclave would then decrypt and serve.
 */
export const WEIGHTS_KEY_NEW_DATA_KEY_ACTIONS = [
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptTo',
];

/**
 * Actions denied to every principal on the weights key: `ReEncryptFrom` would move a data key under a key the caller
 * may decrypt without any attestation, and a grant (`CreateGrant`) would allow use outside the key policy's statements.
 */
export const WEIGHTS_KEY_ALWAYS_DENIED_ACTIONS = ['kms:CreateGrant', 'kms:ReEncryptFrom'];

/**
 * The Session Manager actions of an instance (no patching, inventory or State Manager): the minimal instance policy
 * of the Session Manager guide, instead of the managed `AmazonSSMManagedInstanceCore`.
 *
 * @see https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html
 */
export const SESSION_MANAGER_INSTANCE_ACTIONS = [
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
];

/** S3 actions the host needs on the artifacts bucket: read the enclave image and the sealed weights under their prefixes. */
export const ARTIFACT_READ_OBJECT_ACTIONS = ['s3:GetObject'];

/** S3 action to list the enclave image and sealed-weights prefixes (`aws s3 cp --recursive`). */
export const ARTIFACT_LIST_ACTIONS = ['s3:ListBucket'];
