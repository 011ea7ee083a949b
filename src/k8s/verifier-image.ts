/** An image reference pinned by digest: `registry/repository@sha256:<64 hex>` (a tag may precede the digest). */
const PINNED_IMAGE = /^[a-z0-9]+(?:[._\-/:][a-z0-9]+)*(?::[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$/;

/** A repository reference without tag or digest: `registry/repository`. */
const REPOSITORY = /^[a-z0-9]+(?:[._\-/:][a-z0-9]+)*$/;

/** An AWS CDK token rendered into a string (resolved at deploy time). */
const TOKEN = /\$\{Token\[/;

/**
 * The container image of the ModelSeal verifier (`modelseal serve`, which also runs `modelseal pull`).
 *
 * Always pinned by digest: a tag could be moved to other bytes after review, and ModelSeal's own admission policies
 * refuse unpinned images (the load-time init container runs this image inside model workloads). A CDK
 * `DockerImageAsset` cannot be used: its `imageUri` is `repository:<asset hash>`, a tag, and the digest of the pushed
 * image is known only after the push. Build the image (`assets/Dockerfile`), push it, and pass its digest: the
 * reference with {@link VerifierImage.fromRegistry}, or a repository defined in the CDK app and the digest with
 * {@link VerifierImage.fromRepositoryDigest}.
 */
export class VerifierImage {
  /**
   * An image from a registry, pinned by digest.
   *
   * @param reference e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/modelseal@sha256:<64 hex>`
   * @throws if the reference is not pinned by a `sha256` digest, or is a deploy-time token (such as a
   *   `DockerImageAsset`'s `imageUri`, which is a tag)
   */
  public static fromRegistry(reference: string): VerifierImage {
    if (TOKEN.test(reference)) {
      throw new Error('VerifierImage.fromRegistry: the image is a deploy-time token (a DockerImageAsset\'s imageUri is repository:tag, '
        + 'never pinned by digest); push the image and pass repo@sha256:<64 hex>, or use VerifierImage.fromRepositoryDigest(repositoryUri, digest)');
    }
    if (!PINNED_IMAGE.test(reference)) {
      throw new Error(`VerifierImage.fromRegistry: the image must be pinned by digest (repo@sha256:<64 hex>), got '${reference}'`);
    }
    return new VerifierImage(reference);
  }

  /**
   * An image in a repository (e.g. an `aws-ecr` `Repository`'s `repositoryUri`, a deploy-time token) at a digest
   * known at synth: renders `<repositoryUri>@<digest>`.
   *
   * @param repositoryUri `registry/repository`, without tag or digest; a CDK token is accepted
   * @param digest `sha256:<64 lowercase hex>` of the pushed image (its manifest or multi-arch index), e.g. from
   *   `aws ecr describe-images --query 'imageDetails[].imageDigest'`
   * @throws if the digest is not `sha256:<64 hex>`, or a literal repository URI carries a tag or digest
   */
  public static fromRepositoryDigest(repositoryUri: string, digest: string): VerifierImage {
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new Error(`VerifierImage.fromRepositoryDigest: digest must be sha256:<64 lowercase hex>, got '${digest}'`);
    }
    if (!TOKEN.test(repositoryUri) && !REPOSITORY.test(repositoryUri)) {
      throw new Error(`VerifierImage.fromRepositoryDigest: repositoryUri must be registry/repository without a tag or digest, got '${repositoryUri}'`);
    }
    if (!TOKEN.test(repositoryUri) && (repositoryUri.split('/').pop() ?? '').includes(':')) {
      throw new Error(`VerifierImage.fromRepositoryDigest: repositoryUri must not carry a tag, got '${repositoryUri}'`);
    }
    return new VerifierImage(`${repositoryUri}@${digest}`);
  }

  /**
   * The image reference with its digest.
   */
  public readonly reference: string;

  private constructor(reference: string) {
    this.reference = reference;
  }
}
