/**
 * Nitro Enclave PCR values as constructs take them (ModelWeightsKey's bindings, HardenedBuildRunner's enclave
 * measurements): 96 hex characters (SHA-384, as `nitro-cli build-enclave` prints them), never all zeros (what a
 * debug-mode enclave measures).
 *
 * @see https://docs.aws.amazon.com/enclaves/latest/user/set-up-attestation.html
 */
import { Token } from 'aws-cdk-lib';

/** Checks and normalizes a list of PCR values: 96 hex characters each, never all zeros, no repeats. */
export function checkPcrs(where: string, prop: string, values: string[] | undefined): string[] {
  if (values === undefined) return [];
  if (!Array.isArray(values)) {
    throw new Error(`${where}: ${prop} must be a list of 96-hex-character PCR values, got ${JSON.stringify(values)}`);
  }
  const out: string[] = [];
  for (const value of values) {
    if (Token.isUnresolved(value)) {
      out.push(value);
      continue;
    }
    if (typeof value !== 'string' || !/^[0-9a-fA-F]{96}$/.test(value)) {
      throw new Error(`${where}: ${prop} holds ${JSON.stringify(value)}, which is not a PCR value: expected 96 hex characters (a SHA-384 measurement, as nitro-cli prints it)`);
    }
    if (/^0+$/.test(value)) {
      throw new Error(`${where}: ${prop} holds an all-zero PCR value: that is what a debug-mode enclave measures, and a key bound to it would decrypt for any debug enclave`);
    }
    const lower = value.toLowerCase();
    if (out.includes(lower)) {
      throw new Error(`${where}: ${prop} lists ${lower} twice`);
    }
    out.push(lower);
  }
  return out;
}
