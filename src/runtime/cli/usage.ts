/**
 * The help text of the commands that live in commands/: kept here so that printing the usage loads none of them.
 */

/** Help lines for the top-level usage text. */
export const ATTEST_USAGE_LINES = `  attest sbom key|pkcs11-key|kms|certificate MODEL_PATH --model-card FILE --signature OUT ...
                                             Sign the model's CycloneDX 1.6 AI SBOM as an attestation.
  attest provenance key|pkcs11-key|kms|certificate --digest sha256:ROOT --name NAME (--build-facts FILE | --builder-image IMAGE --build-id ID) ...
                                             Sign the SLSA v1 provenance of the build that produced the model.`;

/** Help lines for the top-level usage text. */
export const SEAL_USAGE_LINES = `  seal prepare --train-build ID --train-project NAME --train-image IMAGE --train-buildspec-sha256 HEX --staging s3://BUCKET/ --out DIR ...
                                             Check a train build with CodeBuild, fetch its staged model and its inputs' versions (seal build).`;

/** Help lines for the top-level usage text. */
export const STORE_USAGE_LINES = `  publish --store URI FILE...                Publish bundles, attestations, Notation signatures (key from content).
  fetch --store URI --out DIR sha256:ROOT    Download every object stored for a root digest.
  ref set --store URI NAME VERSION sha256:ROOT
                                             Record a write-once name/version -> digest reference.
  ref get --store URI NAME VERSION [--policy FILE]
                                             Print the digest a name/version refers to (with --policy: only if trusted).`;

/** Help lines for the top-level usage text. */
export const POLICY_USAGE_LINES = `  policy validate FILE                       Validate a trust policy (schema, signer names, CEL, keys).
  check --store URI --policy FILE sha256:ROOT
                                             Decide whether a digest meets a trust policy (exit 0 met, 1 not).
  revoke --store URI --reason TEXT (--private-key PEM | --pkcs11-uri URI | --kms-key ARN) sha256:ROOT
                                             Sign and publish a revocation record for a digest.
  sign key|pkcs11-key|kms|certificate --from-bundle FILE --signature OUT [--verify-key PEM]
                                             Co-sign the statement of an existing bundle (no model bytes needed).`;

/** Help lines for the top-level usage text. */
export const ADMISSION_USAGE_LINES = `  pull SOURCE DEST --store URI --policy FILE --digest sha256:ROOT
                                             Download a model and verify it in one pass (exit 1: DEST left empty).
  serve --tls-cert FILE --tls-key FILE --store URI --policy FILE
                                             Run the admission verifier service (HTTPS; /validate, /gatekeeper, /kyverno).
  tls init --service NAME --namespace NS --out DIR
                                             Make the verifier's CA, serving certificate and Secret manifest.`;
