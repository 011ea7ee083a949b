/** An image reference pinned by digest: `registry/repository@sha256:<64 hex>` (a tag may precede the digest). */
const PINNED_IMAGE = /^[a-z0-9]+(?:[._\-/:][a-z0-9]+)*(?::[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$/;

/**
 * The container image of the ModelSeal verifier (`modelseal serve`, which also runs `modelseal pull`).
 *
 * Always pinned by digest: a tag could be moved to other bytes after review, and the admission policies refuse
 * unpinned images anyway. On the AWS CDK side, `ModelAdmission` can instead build the committed Dockerfile as a
 * `DockerImageAsset` at deploy time and pass its digest-pinned URI here.
 */
export class VerifierImage {
  /**
   * An image from a registry, pinned by digest.
   *
   * @param reference e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/modelseal@sha256:<64 hex>`
   * @throws if the reference is not pinned by a `sha256` digest
   */
  public static fromRegistry(reference: string): VerifierImage {
    if (!PINNED_IMAGE.test(reference)) {
      throw new Error(`VerifierImage.fromRegistry: the image must be pinned by digest (repo@sha256:<64 hex>), got '${reference}'`);
    }
    return new VerifierImage(reference);
  }

  /**
   * The image reference with its digest.
   */
  public readonly reference: string;

  private constructor(reference: string) {
    this.reference = reference;
  }
}
