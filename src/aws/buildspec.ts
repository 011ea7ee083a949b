/**
 * The build runner's buildspec, as data: the user's build commands, then sign, attest, publish.
 *
 * Every path, signer and store comes from an environment variable the runner sets (see
 * {@link BUILD_ENVIRONMENT_VARIABLES}), so the same commands run on this machine with a local key and a local store.
 */

/** Environment variables the buildspec reads, with what each one means. */
export const BUILD_ENVIRONMENT_VARIABLES: Record<string, string> = {
  MODELSEAL: 'How to run the modelseal CLI (default: node $CODEBUILD_SRC_DIR/modelseal-cli.js, the shipped asset).',
  MODELSEAL_SIGNER: 'Signer kind: kms (the runner) or key (local tests).',
  MODELSEAL_KMS_KEY: 'KMS key ARN for the kms signer.',
  MODELSEAL_PRIVATE_KEY: 'PEM private key for the key signer (tests only).',
  MODELSEAL_STORE: 'Store URI (s3://bucket or file://dir).',
  MODELSEAL_STORE_KMS_KEY_ARN: "The store's SSE-KMS key ARN (s3 stores).",
  MODELSEAL_OUT: 'Where bundles are written before publishing.',
  MODEL_SOURCE_URI: 's3://bucket/prefix/ of the training inputs, downloaded to MODEL_INPUT_DIR (empty: skip).',
  MODELSEAL_SOURCE_KEY: 'The object key that triggered the build (set by the EventBridge rule).',
  MODEL_INPUT_DIR: 'Where the training inputs are downloaded.',
  MODEL_PATH: 'The model directory the build commands produce, signed as a whole.',
  MODEL_CARD: 'The model card (YAML/JSON) the SBOM is built from.',
  MODEL_NAME: 'The model name (refs/<name>/<version>).',
  MODEL_VERSION: 'The model version (default: $CODEBUILD_BUILD_NUMBER).',
  BUILDER_IMAGE: 'The digest-pinned build image, recorded in the provenance.',
  SERVING_IMAGE_DIGEST: 'The serving image digest (sha256:...) to sign and describe; set per build (StartBuild override).',
  SERVING_IMAGE_REPOSITORY: 'The serving image repository URI (set when servingImageSigning is on).',
  SERVING_IMAGE_REPOSITORY_NAME: 'The serving image repository name.',
  SIGNING_PROFILE_ARN: 'The AWS Signer profile Notation signs the serving image with.',
};

/** Options of {@link renderBuildSpec}. */
export interface BuildSpecOptions {
  /** Sign the serving image with Notation and describe it in the SBOM when `SERVING_IMAGE_DIGEST` is set. */
  readonly servingImage: boolean;
}

/**
 * Commands that sign the serving image with Notation (AWS Signer plugin) and save its scan summary for the SBOM.
 *
 * They run only when the build is given `SERVING_IMAGE_DIGEST`; the image itself is built elsewhere.
 */
export function servingImageCommands(): string[] {
  return [
    'SBOM_IMAGE_FLAGS=()',
    'if [ -n "${SERVING_IMAGE_DIGEST:-}" ]; then ' +
      'aws ecr describe-image-scan-findings --repository-name "$SERVING_IMAGE_REPOSITORY_NAME" --image-id "imageDigest=$SERVING_IMAGE_DIGEST" --output json > "$MODELSEAL_OUT/scan.json"; ' +
      'notation sign --plugin com.amazonaws.signer.notation.plugin --id "$SIGNING_PROFILE_ARN" "$SERVING_IMAGE_REPOSITORY@$SERVING_IMAGE_DIGEST"; ' +
      'SBOM_IMAGE_FLAGS=(--serving-image "$SERVING_IMAGE_REPOSITORY@$SERVING_IMAGE_DIGEST" --scan-summary "$MODELSEAL_OUT/scan.json"); ' +
    'fi',
  ];
}

/** Commands that sign, attest and publish the model; they run after the user's build commands, in the build phase. */
export function attestationCommands(options: BuildSpecOptions = { servingImage: false }): string[] {
  return [
    'mkdir -p "$MODELSEAL_OUT"',
    'if [ "$MODELSEAL_SIGNER" = kms ]; then SIGNER_FLAGS=(--kms-key "$MODELSEAL_KMS_KEY"); else SIGNER_FLAGS=(--private-key "$MODELSEAL_PRIVATE_KEY"); fi',
    // sign once (the hashing pass over the whole model), then reuse the root digest for every attestation
    '$MODELSEAL sign "$MODELSEAL_SIGNER" "$MODEL_PATH" --signature "$MODELSEAL_OUT/model.sig.json" "${SIGNER_FLAGS[@]}" --json > "$MODELSEAL_OUT/sign.json" || { cat "$MODELSEAL_OUT/sign.json" >&2; exit 1; }',
    'ROOT=$(node -e "process.stdout.write(JSON.parse(require(\'fs\').readFileSync(process.argv[1], \'utf8\')).rootDigest.replace(/^sha256:/, \'\'))" "$MODELSEAL_OUT/sign.json")',
    'echo "model root digest: sha256:$ROOT"',
    ...(options.servingImage ? servingImageCommands() : ['SBOM_IMAGE_FLAGS=()']),
    '$MODELSEAL attest sbom "$MODELSEAL_SIGNER" "$MODEL_PATH" --digest "sha256:$ROOT" --model-card "$MODEL_CARD" --signature "$MODELSEAL_OUT/sbom.json" "${SIGNER_FLAGS[@]}" "${SBOM_IMAGE_FLAGS[@]}"',
    '$MODELSEAL attest provenance "$MODELSEAL_SIGNER" --digest "sha256:$ROOT" --name "$MODEL_NAME" --builder-image "$BUILDER_IMAGE" --build-id "${CODEBUILD_BUILD_ARN:-local}" --source "${MODEL_SOURCE_URI:-}" --trigger-key "${MODELSEAL_SOURCE_KEY:-}" --input-dir "$MODEL_INPUT_DIR" --signature "$MODELSEAL_OUT/provenance.json" "${SIGNER_FLAGS[@]}"',
    '$MODELSEAL publish --store "$MODELSEAL_STORE" "$MODELSEAL_OUT/model.sig.json" "$MODELSEAL_OUT/sbom.json" "$MODELSEAL_OUT/provenance.json"',
    '$MODELSEAL ref set --store "$MODELSEAL_STORE" "$MODEL_NAME" "$MODEL_VERSION" "sha256:$ROOT"',
  ];
}

/**
 * Shell settings and defaults every phase starts with: fail on any error (also inside pipelines, so `train | tee log`
 * cannot hide a failed training run), and resolve the defaults CodeBuild does not expand in project variables.
 */
const SHELL_SETUP = [
  'set -euo pipefail',
  'MODELSEAL="${MODELSEAL:-node $CODEBUILD_SRC_DIR/modelseal-cli.js}"',
  'MODEL_VERSION="${MODEL_VERSION:-${CODEBUILD_BUILD_NUMBER:-}}"',
];

/** Commands that fetch the training inputs before the user's build commands. */
export function downloadCommands(): string[] {
  return [
    ...SHELL_SETUP,
    'node -e "process.exit(Number(process.versions.node.split(\'.\')[0]) >= 20 ? 0 : 1)" || { echo "modelseal needs Node.js >= 20 in the build image, found $(node --version)" >&2; exit 1; }',
    'mkdir -p "$MODEL_INPUT_DIR"',
    'if [ -n "${MODEL_SOURCE_URI:-}" ]; then aws s3 sync "$MODEL_SOURCE_URI" "$MODEL_INPUT_DIR" --only-show-errors; fi',
  ];
}

/**
 * The whole buildspec (version 0.2, bash).
 *
 * Everything runs in the `build` phase: CodeBuild runs `post_build` even after a failed build, and a failed build
 * must never be signed.
 */
export function renderBuildSpec(buildCommands: string[], options: BuildSpecOptions = { servingImage: false }): Record<string, unknown> {
  return {
    version: '0.2',
    env: { shell: 'bash' },
    phases: {
      pre_build: { commands: downloadCommands() },
      build: { commands: [...SHELL_SETUP, ...buildCommands, ...attestationCommands(options)] },
    },
  };
}
