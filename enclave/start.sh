#!/bin/bash
# ModelSeal enclave start-up (the image's ENTRYPOINT; docs/ENCLAVE.md). Runs inside the Nitro Enclave:
#   1. bring up the loopback interface (an enclave starts with it down);
#   2. receive the region, the parent instance role's temporary credentials and the sealed weights from the parent
#      over vsock (one stream: a JSON line, then a tar of the sealed directory) — all of it ciphertext or useless
#      without this enclave's attestation;
#   3. forward vsock connections from the parent (the load balancer's clients) to the model server on loopback;
#   4. hand over to unseal-and-serve.sh: data key via KMS Recipient, unseal, then exec the model server ("$@").
set -euo pipefail
: "${MODELSEAL_RUN_DIR:=/run/modelseal}"
: "${MODELSEAL_INPUT_PORT:=7000}"
: "${MODELSEAL_SERVING_PORT:=8443}"
export MODELSEAL_INPUT="${MODELSEAL_RUN_DIR}/input.json" MODELSEAL_SEALED_DIR="${MODELSEAL_RUN_DIR}/sealed" MODELSEAL_MODEL_DIR="${MODELSEAL_RUN_DIR}/model"

ip link set dev lo up
install -d -m 0700 "$MODELSEAL_RUN_DIR" "$MODELSEAL_SEALED_DIR"
socat -u "VSOCK-LISTEN:${MODELSEAL_INPUT_PORT}" - | {
  IFS= read -r line
  umask 077
  printf '%s\n' "$line" > "$MODELSEAL_INPUT"
  tar -x -C "$MODELSEAL_SEALED_DIR" -f -
}
socat "VSOCK-LISTEN:${MODELSEAL_SERVING_PORT},fork,reuseaddr" "TCP:127.0.0.1:${MODELSEAL_SERVING_PORT}" &
exec "$(dirname "$0")/unseal-and-serve.sh" "$@"
