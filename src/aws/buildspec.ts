/**
 * The two buildspecs of the hardened runner, as data.
 *
 * - **train** runs the user's commands in the user's image, then stages the model under its own build's prefix of
 *   the staging bucket. It holds no signing identity and runs no modelseal code.
 * - **seal** runs only modelseal: it checks the CLI's SHA-256, checks the train build with CodeBuild, fetches the exact
 *   staged versions, signs, attests, publishes and sets the reference. It contains no user-controlled command.
 *
 * What must not change after synth (the CLI's and the train buildspec's SHA-256, the train image, the allowed
 * overrides, the timestamp URL) is written into the seal buildspec itself, so a StartBuild variable override cannot
 * change it; what CloudFormation resolves (ARNs, bucket names) comes from project variables, which the seal build
 * compares with its project's definition before it reads anything.
 */

/** Environment variables the train buildspec reads. */
export const TRAIN_ENVIRONMENT_VARIABLES: Record<string, string> = {
  MODEL_SOURCE_URI: 's3://bucket/prefix/ of the training inputs, synced to MODEL_INPUT_DIR first (empty: no inputs).',
  MODEL_INPUT_DIR: 'Where the training inputs are downloaded (relative to the working directory).',
  MODEL_PATH: 'The model directory the build commands write; all of it is staged and signed.',
  MODEL_STAGING_URI: 's3://<staging bucket>/: the model is copied to <this><build ARN>/model/.',
  MODEL_NAME: 'The model name (for the build commands\' information; the seal uses its own).',
  MODELSEAL_SOURCE_KEY: 'The marker object that started the build (set by the upload rule; an allowed override).',
  SERVING_IMAGE_DIGEST: 'sha256:<digest> of the serving image to describe in the SBOM (an allowed StartBuild override).',
};

/** Environment variables the seal buildspec reads (the values of its project; only TRAIN_BUILD_ID may differ). */
export const SEAL_ENVIRONMENT_VARIABLES: Record<string, string> = {
  TRAIN_BUILD_ID: 'The train build to seal (set by the trigger rule from the SUCCEEDED event).',
  TRAIN_PROJECT: 'The train project\'s name.',
  TRAIN_ROLE_ARN: 'The train role; a train build that ran with another role is refused.',
  MODEL_NAME: 'The model name (the statement subject and refs/<name>/<train build number>).',
  MODEL_STAGING_URI: 's3://<staging bucket>/',
  MODEL_SOURCE_URI: 's3://bucket/prefix/ of the training inputs (empty: none).',
  MODELSEAL_SIGNER: 'Signer kind: kms (the runner) or key (local tests).',
  MODELSEAL_KMS_KEY: 'The signing key ARN for the kms signer.',
  MODELSEAL_PRIVATE_KEY: 'PEM private key for the key signer (tests only).',
  MODELSEAL_STORE: 'The store URI (s3://bucket[/prefix/] or file://dir).',
  MODELSEAL_STORE_KMS_KEY_ARN: 'The store\'s SSE-KMS key ARN (s3 stores).',
  MODEL_CARD_URI: 's3:// URI of the model card asset (ModelCard.fromFile).',
  SERVING_IMAGE_REPOSITORY: 'The serving image repository URI (servingImageSigning).',
  SERVING_IMAGE_REPOSITORY_NAME: 'The serving image repository name (servingImageSigning).',
  SIGNING_PROFILE_NAME: 'The AWS Signer profile that co-signs the model root (servingImageSigning).',
  WEIGHTS_KEY_ARN: 'The ModelWeightsKey that seal-weights makes the data key under (weightsKey).',
};

/** The staging-bucket folder of sealed weights: `sealed/<model name>/<train build number>/`. */
export const SEALED_WEIGHTS_FOLDER = 'sealed/';

/** The variables a train build may be started with (StartBuild overrides) and still be sealed. */
export const TRAIN_ALLOWED_OVERRIDES = ['MODELSEAL_SOURCE_KEY', 'SERVING_IMAGE_DIGEST'];

/** The variable the seal trigger sets, and the only one a seal build may be started with. */
export const SEAL_TRIGGER_VARIABLE = 'TRAIN_BUILD_ID';

/**
 * Shell settings every phase starts with: stop on any error, also inside pipelines (`train | tee log` cannot hide a
 * failed training run), and on unset variables.
 */
const STRICT = 'set -euo pipefail';

/** Single-quotes a string for bash. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, '\'\\\'\'')}'`;
}

/**
 * The train buildspec (version 0.2, bash): download the inputs, run the user's commands, stage the model. One
 * `build` phase, so a failed command stops the build before anything is staged (CodeBuild runs `post_build` even after
 * a failure).
 */
export function renderTrainBuildSpec(buildCommands: readonly string[]): Record<string, unknown> {
  return {
    version: '0.2',
    env: { shell: 'bash' },
    phases: {
      build: {
        commands: [
          STRICT,
          'cd "$CODEBUILD_SRC_DIR"',
          'mkdir -p "$MODEL_INPUT_DIR" "$MODEL_PATH"',
          'if [ -n "${MODEL_SOURCE_URI:-}" ]; then aws s3 sync "$MODEL_SOURCE_URI" "$MODEL_INPUT_DIR" --only-show-errors; fi',
          ...buildCommands,
          'cd "$CODEBUILD_SRC_DIR"',
          '[ -n "$(find "$MODEL_PATH" -type f -print -quit)" ] || { echo "the build commands wrote no file under $MODEL_PATH" >&2; exit 1; }',
          // the train role may write only under its own build's ARN (IAM's ${codebuild:buildArn}), so the prefix is that
          'aws s3 cp "$MODEL_PATH" "${MODEL_STAGING_URI}${CODEBUILD_BUILD_ARN}/model/" --recursive --only-show-errors',
          'echo "model staged at ${MODEL_STAGING_URI}${CODEBUILD_BUILD_ARN}/model/"',
        ],
      },
    },
  };
}

/** What the seal buildspec is made of. */
export interface SealBuildSpecOptions {
  /** Hex SHA-256 of assets/modelseal-cli.js, checked before the CLI runs. */
  readonly cliSha256: string;
  /** Hex SHA-256 of the train buildspec text as the train project holds it. */
  readonly trainBuildspecSha256: string;
  /** The train image, exactly as the train project names it. */
  readonly trainImage: string;
  /** Accept an unpinned train image (allowUnpinnedBuildImage). */
  readonly allowUnpinnedTrainImage: boolean;
  /** Whether the inputs are resolved (a source bucket is configured). */
  readonly hasSource: boolean;
  /** The model card: none, a checked asset (its SHA-256 and file extension), or an input name. */
  readonly modelCard?: { readonly sha256?: string; readonly extension?: string; readonly inputName?: string };
  /** Record the serving image and its scan summary, and co-sign the root with AWS Signer. */
  readonly servingImage: boolean;
  /**
   * Seal the weights for the enclave tier: the enclave image's measurements as `nitro-cli build-enclave` prints them
   * (JSON), written into the buildspec so no override can change them.
   */
  readonly sealWeights?: { readonly measurementsJson: string };
  /** An RFC 3161 timestamp authority for `sign --timestamp-url`. */
  readonly timestampUrl?: string;
  /** Install Node.js 20 with `runtime-versions` (AWS-managed images); a pinned image must bring its own. */
  readonly installNode: boolean;
}

/**
 * The seal buildspec (version 0.2, bash). Every command is ModelSeal's; none comes from the user.
 */
export function renderSealBuildSpec(o: SealBuildSpecOptions): Record<string, unknown> {
  const cli = 'node "$CODEBUILD_SRC_DIR/modelseal-cli.js"';
  const readFacts = (expr: string) => `node -e "const f = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); process.stdout.write(String(${expr} ?? ''))" "$OUT/build-facts.json"`;
  const card = o.modelCard;
  const commands = [
    STRICT,
    'cd "$CODEBUILD_SRC_DIR"',
    // the CLI asset is checked before it runs: whoever can write the assets bucket cannot swap in another program
    `echo "${o.cliSha256}  modelseal-cli.js" | sha256sum --check --strict --quiet || ` +
      '{ echo "modelseal-cli.js does not have the SHA-256 it was synthesized with: refusing to run it" >&2; exit 1; }',
    'WORK="$(mktemp -d)"; OUT="$WORK/seal"',
    'if [ "$MODELSEAL_SIGNER" = kms ]; then SIGNER_FLAGS=(--kms-key "$MODELSEAL_KMS_KEY"); else SIGNER_FLAGS=(--private-key "$MODELSEAL_PRIVATE_KEY"); fi',
    [
      `${cli} seal prepare --self-build "$CODEBUILD_BUILD_ID" --train-build "$${SEAL_TRIGGER_VARIABLE}" --train-project "$TRAIN_PROJECT"`,
      `--train-image ${shellQuote(o.trainImage)} --train-buildspec-sha256 ${o.trainBuildspecSha256} --train-role-arn "$TRAIN_ROLE_ARN"`,
      ...TRAIN_ALLOWED_OVERRIDES.map((n) => `--allow-override ${n}`),
      ...(o.allowUnpinnedTrainImage ? ['--allow-unpinned-builder'] : []),
      '--staging "$MODEL_STAGING_URI"',
      ...(o.hasSource ? ['--source "$MODEL_SOURCE_URI"'] : []),
      ...(card?.inputName ? [`--model-card-input ${shellQuote(card.inputName)}`] : []),
      ...(o.servingImage ? ['--serving-image-repository "$SERVING_IMAGE_REPOSITORY"'] : []),
      `--cli-sha256 ${o.cliSha256} --out "$OUT"`,
    ].join(' '),
    `VERSION="$(${readFacts('f.trainBuild.buildNumber')})"`,
    [
      `${cli} sign "$MODELSEAL_SIGNER" "$OUT/model" --signature "$WORK/model.sig.json" "\${SIGNER_FLAGS[@]}"`,
      ...(o.timestampUrl ? [`--timestamp-url ${shellQuote(o.timestampUrl)}`] : []),
      '--json > "$WORK/sign.json" || { cat "$WORK/sign.json" >&2; exit 1; }',
    ].join(' '),
    'ROOT="$(node -e "process.stdout.write(JSON.parse(require(\'fs\').readFileSync(process.argv[1], \'utf8\')).rootDigest.replace(/^sha256:/, \'\'))" "$WORK/sign.json")"',
    'echo "model root digest: sha256:$ROOT (train build #$VERSION)"',
    'PUBLISH=("$WORK/model.sig.json" "$WORK/provenance.json")',
  ];
  if (card) {
    if (card.sha256) {
      const file = `"$WORK/model-card${card.extension ?? '.yaml'}"`;
      commands.push(
        `CARD=${file}`,
        'aws s3 cp "$MODEL_CARD_URI" "$CARD" --only-show-errors',
        `echo "${card.sha256}  $CARD" | sha256sum --check --strict --quiet || { echo "the model card asset does not have the SHA-256 it was synthesized with" >&2; exit 1; }`,
      );
    } else {
      commands.push(`CARD="$OUT/model-card${card.extension ?? '.yaml'}"`);
    }
    commands.push('SBOM_IMAGE_FLAGS=()');
    if (o.servingImage) {
      commands.push(
        `SERVING_IMAGE="$(${readFacts('f.servingImage')})"`,
        'if [ -n "$SERVING_IMAGE" ]; then ' +
          'aws ecr wait image-scan-complete --repository-name "$SERVING_IMAGE_REPOSITORY_NAME" --image-id "imageDigest=${SERVING_IMAGE#*@}"; ' +
          'aws ecr describe-image-scan-findings --repository-name "$SERVING_IMAGE_REPOSITORY_NAME" --image-id "imageDigest=${SERVING_IMAGE#*@}" --output json > "$WORK/scan.json"; ' +
          'SBOM_IMAGE_FLAGS=(--serving-image "$SERVING_IMAGE" --scan-summary "$WORK/scan.json"); ' +
        'fi',
      );
    }
    commands.push(
      `${cli} attest sbom "$MODELSEAL_SIGNER" "$OUT/model" --digest "sha256:$ROOT" --model-card "$CARD" --signature "$WORK/sbom.json" ` +
        '"${SIGNER_FLAGS[@]}" "${SBOM_IMAGE_FLAGS[@]}"',
      'PUBLISH+=("$WORK/sbom.json")',
    );
  } else {
    commands.push('echo "no model card configured: no AI SBOM attestation for this model"');
  }
  commands.push(
    `${cli} attest provenance "$MODELSEAL_SIGNER" --digest "sha256:$ROOT" --name "$MODEL_NAME" --build-facts "$OUT/build-facts.json" ` +
      `--signature "$WORK/provenance.json" "\${SIGNER_FLAGS[@]}"${o.allowUnpinnedTrainImage ? ' --allow-unpinned-builder' : ''}`,
  );
  if (o.servingImage) {
    commands.push(
      `${cli} sign aws-signer --digest "sha256:$ROOT" --profile "$SIGNING_PROFILE_NAME" --signature "$WORK/model.jws"`,
      'PUBLISH+=("$WORK/model.jws")',
    );
  }
  if (o.sealWeights) {
    // the signed plaintext model, encrypted for the enclave image: the host verifies the sealed files' signature and
    // the enclave-seal attestation before it starts the enclave (docs/ENCLAVE.md)
    commands.push(
      `printf '%s' ${shellQuote(o.sealWeights.measurementsJson)} > "$WORK/enclave-measurements.json"`,
      `${cli} seal-weights "$MODELSEAL_SIGNER" "$OUT/model" "$WORK/sealed" --key-arn "$WEIGHTS_KEY_ARN" ` +
        '--enclave-measurements "$WORK/enclave-measurements.json" --digest "sha256:$ROOT" --name "$MODEL_NAME" ' +
        '--signature "$WORK/sealed.sig.json" --attestation "$WORK/enclave-seal.json" "${SIGNER_FLAGS[@]}"',
      `aws s3 cp "$WORK/sealed" "\${MODEL_STAGING_URI}${SEALED_WEIGHTS_FOLDER}\${MODEL_NAME}/\${VERSION}/" --recursive --only-show-errors`,
      `echo "sealed weights at \${MODEL_STAGING_URI}${SEALED_WEIGHTS_FOLDER}\${MODEL_NAME}/\${VERSION}/"`,
      'PUBLISH+=("$WORK/sealed.sig.json" "$WORK/enclave-seal.json")',
    );
  }
  commands.push(
    `${cli} publish --store "$MODELSEAL_STORE" "\${PUBLISH[@]}"`,
    `${cli} ref set --store "$MODELSEAL_STORE" "$MODEL_NAME" "$VERSION" "sha256:$ROOT"`,
    'echo "sealed $MODEL_NAME version $VERSION: sha256:$ROOT"',
  );
  return {
    version: '0.2',
    env: { shell: 'bash' },
    phases: {
      ...(o.installNode ? { install: { 'runtime-versions': { nodejs: 20 } } } : {}),
      build: { commands },
    },
  };
}
