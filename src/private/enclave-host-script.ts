/**
 * The user data of an enclave serving host (EnclaveServingTier): one bash script whose steps run in a fixed order and
 * stop the host at the first failure, so the enclave never starts unless the image and the weights verified.
 *
 * 1. install and configure the Nitro Enclaves CLI and its allocator (memory and vCPUs);
 * 2. fetch the modelseal CLI (its SHA-256 checked), the signed enclave image, the sealed weights, the trust policies;
 * 3. `modelseal verify policy` on the image and on the sealed weights against the store and the trust policy;
 * 4. start vsock-proxy with an allowlist that holds only the regional KMS endpoint;
 * 5. run the enclave, never in debug mode;
 * 6. hand the enclave the region, the role's temporary credentials and the sealed weights over vsock;
 * 7. forward the load balancer's connections to the model server inside the enclave.
 *
 * Values may be CDK tokens (they become `Fn::Join` parts).
 */

/** The vsock port the enclave receives its inputs on (enclave/receive.sh). */
export const ENCLAVE_INPUT_PORT = 7000;
/** The vsock port vsock-proxy listens on for the enclave's KMS calls (kmstool_enclave_cli --proxy-port). */
export const KMS_PROXY_PORT = 8000;

/** Inputs of {@link renderHostScript}. */
export interface HostScriptOptions {
  readonly region: string;
  /** `amazonaws.com`, or the partition's suffix. */
  readonly urlSuffix: string;
  readonly cliBucket: string;
  readonly cliKey: string;
  /** SHA-256 (hex) of the CLI bundle, checked before it runs. */
  readonly cliSha256: string;
  readonly artifactsBucket: string;
  /** The bucket of the enclave image (the artifacts bucket unless given apart). */
  readonly enclaveImageBucket: string;
  readonly enclaveImagePrefix: string;
  readonly enclaveImageFile: string;
  readonly sealedWeightsPrefix: string;
  readonly storeUri: string;
  /** The trust policy of the enclave image, base64. */
  readonly trustPolicyBase64: string;
  /** The trust policy of the sealed weights, base64. */
  readonly sealedWeightsPolicyBase64: string;
  readonly enclaveImageDigest?: string;
  readonly sealedWeightsDigest?: string;
  readonly cpuCount: number;
  readonly memoryMib: number;
  readonly enclaveCid: number;
  readonly servingPort: number;
}

/** Renders the host script (see the module comment for the steps). */
export function renderHostScript(o: HostScriptOptions): string {
  const kms = `kms.${o.region}.${o.urlSuffix}`;
  const cli = 'node /opt/modelseal/modelseal-cli.js';
  const policy = (file: string) => `--store ${o.storeUri} --policy /etc/modelseal/${file}`;
  const pin = (digest?: string) => (digest ? ` --digest ${digest}` : '');
  return [
    '#!/bin/bash',
    '# ModelSeal enclave serving host (EnclaveServingTier). Each step must succeed, in this order; a failure stops the host',
    '# before the enclave starts, the load balancer health check fails, and the Auto Scaling group replaces it.',
    'set -euo pipefail',
    'exec > >(tee -a /var/log/modelseal-host.log | logger -t modelseal-host) 2>&1',
    `export AWS_REGION=${o.region} AWS_DEFAULT_REGION=${o.region}`,
    'fail() { echo "modelseal-host: $*; the enclave is not started" >&2; exit 1; }',
    'install -d -m 0700 /opt/modelseal /opt/modelseal/enclave-image /opt/modelseal/sealed /etc/modelseal',
    '',
    '# 1. Nitro Enclaves CLI and allocator',
    'dnf install -y aws-nitro-enclaves-cli aws-nitro-enclaves-cli-devel nodejs22 socat tar',
    "cat > /etc/nitro_enclaves/allocator.yaml <<'EOF'",
    '---',
    `memory_mib: ${o.memoryMib}`,
    `cpu_count: ${o.cpuCount}`,
    'EOF',
    'systemctl enable --now nitro-enclaves-allocator.service',
    '',
    '# 2. fetch the modelseal CLI (checked), the signed enclave image, the sealed weights and the trust policies',
    `aws s3 cp --only-show-errors s3://${o.cliBucket}/${o.cliKey} /opt/modelseal/modelseal-cli.js`,
    `echo '${o.cliSha256}  /opt/modelseal/modelseal-cli.js' | sha256sum --check --quiet - || fail 'the modelseal CLI does not have the expected SHA-256'`,
    `aws s3 cp --recursive --only-show-errors s3://${o.enclaveImageBucket}/${o.enclaveImagePrefix} /opt/modelseal/enclave-image/`,
    `aws s3 cp --recursive --only-show-errors s3://${o.artifactsBucket}/${o.sealedWeightsPrefix} /opt/modelseal/sealed/`,
    `echo '${o.trustPolicyBase64}' | base64 -d > /etc/modelseal/trust-policy.json`,
    `echo '${o.sealedWeightsPolicyBase64}' | base64 -d > /etc/modelseal/sealed-weights-policy.json`,
    '',
    '# 3. verify the enclave image and the sealed weights against the store and the trust policy',
    `${cli} verify policy /opt/modelseal/enclave-image ${policy('trust-policy.json')}${pin(o.enclaveImageDigest)} || fail 'the enclave image does not meet the trust policy'`,
    `${cli} verify policy /opt/modelseal/sealed ${policy('sealed-weights-policy.json')}${pin(o.sealedWeightsDigest)} || fail 'the sealed weights do not meet the trust policy'`,
    '',
    '# 4. vsock-proxy: the enclave reaches the regional KMS endpoint and nothing else',
    "cat > /etc/nitro_enclaves/vsock-proxy.yaml <<'EOF'",
    'allowlist:',
    `- {address: ${kms}, port: 443}`,
    'EOF',
    "cat > /etc/systemd/system/modelseal-vsock-proxy.service <<'EOF'",
    '[Unit]',
    'Description=ModelSeal: vsock-proxy to the regional KMS endpoint only',
    'After=network-online.target',
    '[Service]',
    `ExecStart=/usr/bin/vsock-proxy ${KMS_PROXY_PORT} ${kms} 443 --config /etc/nitro_enclaves/vsock-proxy.yaml`,
    'Restart=always',
    '[Install]',
    'WantedBy=multi-user.target',
    'EOF',
    'systemctl daemon-reload',
    'systemctl enable --now modelseal-vsock-proxy.service',
    '',
    '# 5. run the enclave in production mode (a debug-mode enclave measures all-zero PCRs and KMS refuses it)',
    `nitro-cli run-enclave --eif-path /opt/modelseal/enclave-image/${o.enclaveImageFile} --cpu-count ${o.cpuCount} --memory ${o.memoryMib} --enclave-cid ${o.enclaveCid}`,
    '',
    '# 6. hand the enclave the region, the instance role\'s temporary credentials (for kmstool_enclave_cli) and the sealed weights',
    "IMDS_TOKEN=$(curl -sSf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')",
    'ROLE_NAME=$(curl -sSf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/iam/security-credentials/)',
    'CREDENTIALS=$(curl -sSf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "http://169.254.169.254/latest/meta-data/iam/security-credentials/$ROLE_NAME" | tr -d \'\\n\')',
    `{ printf '{"region":"%s","credentials":%s}\\n' "$AWS_REGION" "$CREDENTIALS"; tar -C /opt/modelseal/sealed -cf - .; } | socat -u - VSOCK-CONNECT:${o.enclaveCid}:${ENCLAVE_INPUT_PORT},retry=60,interval=1`,
    'unset CREDENTIALS IMDS_TOKEN',
    '',
    '# 7. forward the load balancer\'s connections to the model server inside the enclave',
    "cat > /etc/systemd/system/modelseal-enclave-ingress.service <<'EOF'",
    '[Unit]',
    'Description=ModelSeal: TCP to the enclave model server over vsock',
    '[Service]',
    `ExecStart=/usr/bin/socat TCP-LISTEN:${o.servingPort},fork,reuseaddr VSOCK-CONNECT:${o.enclaveCid}:${o.servingPort}`,
    'Restart=always',
    '[Install]',
    'WantedBy=multi-user.target',
    'EOF',
    'systemctl daemon-reload',
    'systemctl enable --now modelseal-enclave-ingress.service',
    '',
  ].join('\n');
}
