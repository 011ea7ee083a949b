/**
 * The instance types the Nitro Enclave serving tier accepts: a small table of Nitro families known to run enclaves,
 * with their sizes and memory per vCPU, so a type that cannot run an enclave (or does not exist) fails at synth with
 * an error that says why. docs/ENCLAVE.md shows the same table.
 *
 * Rules (Nitro Enclaves User Guide, "Requirements"): Intel and AMD instances with at least 4 vCPUs, Graviton instances
 * with at least 2; not the burstable T families, not A1. The enclave takes whole cores from the parent: on Intel and
 * AMD (two threads per core) an even number of vCPUs, and the parent keeps at least one core.
 *
 * @see https://docs.aws.amazon.com/enclaves/latest/user/nitro-enclave.html#nitro-enclave-reqs
 */

/** CPU architecture of a family. */
export type EnclaveArchitecture = 'x86_64' | 'arm64';

interface Family {
  readonly arch: EnclaveArchitecture;
  /** GiB of memory per vCPU. */
  readonly gibPerVcpu: number;
  readonly sizes: readonly string[];
}

/** vCPUs per size name. */
export const SIZE_VCPUS: Readonly<Record<string, number>> = {
  'medium': 1,
  'large': 2,
  'xlarge': 4,
  '2xlarge': 8,
  '4xlarge': 16,
  '8xlarge': 32,
  '9xlarge': 36,
  '12xlarge': 48,
  '16xlarge': 64,
  '18xlarge': 72,
  '24xlarge': 96,
  '32xlarge': 128,
  '48xlarge': 192,
};

const S_C5 = ['large', 'xlarge', '2xlarge', '4xlarge', '9xlarge', '12xlarge', '18xlarge', '24xlarge'];
const S_5 = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'];
const S_6I = [...S_5, '32xlarge'];
const S_6A = [...S_5, '32xlarge', '48xlarge'];
const S_7I = [...S_5, '48xlarge'];
const S_7A = ['medium', ...S_5, '32xlarge', '48xlarge'];
const S_G = ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'];
const S_8G = [...S_G, '24xlarge', '48xlarge'];

function families(names: string[], arch: EnclaveArchitecture, gibPerVcpu: number, sizes: readonly string[]): [string, Family][] {
  return names.map((n) => [n, { arch, gibPerVcpu, sizes }]);
}

/** The accepted families. */
export const ENCLAVE_FAMILIES: Readonly<Record<string, Family>> = Object.fromEntries([
  ...families(['c5', 'c5d'], 'x86_64', 2, S_C5),
  ...families(['c5a', 'c5ad'], 'x86_64', 2, S_5),
  ...families(['m5', 'm5d', 'm5a', 'm5ad'], 'x86_64', 4, S_5),
  ...families(['r5', 'r5d', 'r5a', 'r5ad'], 'x86_64', 8, S_5),
  ...families(['c6i', 'c6id'], 'x86_64', 2, S_6I),
  ...families(['m6i', 'm6id'], 'x86_64', 4, S_6I),
  ...families(['r6i', 'r6id'], 'x86_64', 8, S_6I),
  ...families(['c6a'], 'x86_64', 2, S_6A),
  ...families(['m6a'], 'x86_64', 4, S_6A),
  ...families(['r6a'], 'x86_64', 8, S_6A),
  ...families(['c7i'], 'x86_64', 2, S_7I),
  ...families(['m7i'], 'x86_64', 4, S_7I),
  ...families(['r7i'], 'x86_64', 8, S_7I),
  ...families(['c7a'], 'x86_64', 2, S_7A),
  ...families(['m7a'], 'x86_64', 4, S_7A),
  ...families(['r7a'], 'x86_64', 8, S_7A),
  ...families(['c6g', 'c6gd', 'c7g', 'c7gd'], 'arm64', 2, S_G),
  ...families(['m6g', 'm6gd', 'm7g', 'm7gd'], 'arm64', 4, S_G),
  ...families(['r6g', 'r6gd', 'r7g', 'r7gd'], 'arm64', 8, S_G),
  ...families(['c8g'], 'arm64', 2, S_8G),
  ...families(['m8g'], 'arm64', 4, S_8G),
  ...families(['r8g'], 'arm64', 8, S_8G),
]);

/** What the table says about one accepted instance type. */
export interface EnclaveInstanceType {
  readonly family: string;
  readonly size: string;
  readonly arch: EnclaveArchitecture;
  readonly vcpus: number;
  readonly memoryMib: number;
  /** The vCPUs the parent keeps at least (one core). */
  readonly parentVcpus: number;
}

/**
 * Looks an instance type up in the table.
 *
 * @returns the facts, or a reason it is refused (a sentence naming the type)
 */
export function lookupEnclaveInstanceType(name: string): EnclaveInstanceType | string {
  const m = /^([a-z][a-z0-9-]*)\.([a-z0-9-]+)$/.exec(name);
  if (!m) {
    return `'${name}' is not an instance type name (family.size, e.g. m6i.xlarge)`;
  }
  const [, family, size] = m;
  if (/^t\d/.test(family)) {
    return `'${name}' is a burstable ${family} instance: burstable T families cannot run Nitro Enclaves`;
  }
  if (family === 'a1' || family.startsWith('mac')) {
    return `'${name}' cannot run Nitro Enclaves (${family} instances do not support them)`;
  }
  const f = ENCLAVE_FAMILIES[family];
  if (!f) {
    return `'${name}' is not in ModelSeal's table of enclave-capable families (${Object.keys(ENCLAVE_FAMILIES).join(', ')}; see docs/ENCLAVE.md)`;
  }
  if (!f.sizes.includes(size)) {
    return `'${name}' is not a size the table knows for ${family} (${f.sizes.join(', ')}; bare-metal sizes are not supported)`;
  }
  const vcpus = SIZE_VCPUS[size];
  const minimum = f.arch === 'x86_64' ? 4 : 2;
  if (vcpus < minimum) {
    return `'${name}' has ${vcpus} vCPU${vcpus === 1 ? '' : 's'}; ${f.arch === 'x86_64' ? 'Intel and AMD' : 'Graviton'} instances need at least ${minimum} to run an enclave`;
  }
  return { family, size, arch: f.arch, vcpus, memoryMib: vcpus * f.gibPerVcpu * 1024, parentVcpus: f.arch === 'x86_64' ? 2 : 1 };
}
