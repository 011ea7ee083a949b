#!/bin/bash
# Inside the enclave: obtain the data key with KMS Decrypt and a Recipient attestation (kmstool_enclave_cli), unseal
# the weights with `modelseal unseal` (every chunk's GCM tag and the plaintext root digest verified; nothing written
# unless all of it verified), delete the inputs, then exec the model server given as arguments.
#
# Environment:
#   MODELSEAL_INPUT         JSON line from the parent: {"region": ..., "credentials": {AccessKeyId, SecretAccessKey, Token}}
#   MODELSEAL_SEALED_DIR    the sealed weights (modelseal seal-weights output)
#   MODELSEAL_MODEL_DIR     where the plaintext model goes (enclave memory); the server reads it from there
#   MODELSEAL_EXPECTED_ROOT optional sha256:<root> baked into the image: pins the model version, so the parent cannot
#                           roll the enclave back to older weights sealed under the same key
#   MODELSEAL_KMSTOOL, MODELSEAL_CLI, MODELSEAL_KMS_PROXY_PORT: where kmstool_enclave_cli, the modelseal bundle and
#                           the parent's vsock-proxy are
set -euo pipefail
: "${MODELSEAL_INPUT:?}" "${MODELSEAL_SEALED_DIR:?}" "${MODELSEAL_MODEL_DIR:?}"
: "${MODELSEAL_KMSTOOL:=/usr/local/bin/kmstool_enclave_cli}"
: "${MODELSEAL_CLI:=/opt/modelseal/modelseal-cli.js}"
: "${MODELSEAL_KMS_PROXY_PORT:=8000}"
if [ "$#" -eq 0 ]; then
  echo "unseal-and-serve: no model server command given" >&2
  exit 2
fi

field() { node -e 'const v = process.argv[2].split(".").reduce((o, k) => o?.[k], JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))); if (typeof v !== "string" || v === "") { console.error(`unseal-and-serve: ${process.argv[2]} is missing in ${process.argv[1]}`); process.exit(2); } process.stdout.write(v)' "$1" "$2"; }
region=$(field "$MODELSEAL_INPUT" region)
key_id=$(field "$MODELSEAL_INPUT" credentials.AccessKeyId)
secret=$(field "$MODELSEAL_INPUT" credentials.SecretAccessKey)
token=$(field "$MODELSEAL_INPUT" credentials.Token)
encrypted_key=$(field "$MODELSEAL_SEALED_DIR/modelseal-sealed.json" encryptedDataKey)

pin=()
if [ -n "${MODELSEAL_EXPECTED_ROOT:-}" ]; then pin=(--digest "$MODELSEAL_EXPECTED_ROOT"); fi
"$MODELSEAL_KMSTOOL" decrypt --region "$region" --proxy-port "$MODELSEAL_KMS_PROXY_PORT" \
    --aws-access-key-id "$key_id" --aws-secret-access-key "$secret" --aws-session-token "$token" \
    --ciphertext "$encrypted_key" \
  | node "$MODELSEAL_CLI" unseal "$MODELSEAL_SEALED_DIR" "$MODELSEAL_MODEL_DIR" --data-key-stdin "${pin[@]}"
unset key_id secret token
rm -rf "$MODELSEAL_SEALED_DIR" "$MODELSEAL_INPUT"
export MODELSEAL_MODEL_DIR
exec "$@"
