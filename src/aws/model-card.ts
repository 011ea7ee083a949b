import * as fs from 'fs';
import * as path from 'path';

/**
 * Where the seal build takes the model card (YAML or JSON, docs/SBOM.md) that the AI SBOM is built from.
 *
 * The card is never something the training wrote: training code is the tenant of the build, and a card it wrote could
 * claim any accuracy. It is either a file reviewed with your code ({@link ModelCard.fromFile}: shipped as an S3 asset
 * whose SHA-256 the seal checks before it reads it) or an object among the training inputs
 * ({@link ModelCard.fromInput}: the version that was current when the train build started, recorded in the provenance
 * with its SHA-256). Metrics the training computes belong in a separate, trusted evaluation step, not in this card.
 */
export class ModelCard {
  /**
   * A model card file in your app (YAML or JSON), read at synth: the seal build downloads it and checks its SHA-256
   * before use.
   *
   * @param filePath path to the file, relative to the working directory of the synth or absolute
   * @throws if the file cannot be read at synth
   */
  public static fromFile(filePath: string): ModelCard {
    const resolved = path.resolve(filePath);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(resolved);
    } catch (e) {
      throw new Error(`ModelCard.fromFile: cannot read the model card '${filePath}': ${(e as Error).message}`);
    }
    if (bytes.length === 0) throw new Error(`ModelCard.fromFile: the model card '${filePath}' is empty`);
    return new ModelCard(resolved, undefined);
  }

  /**
   * A model card among the training inputs: `name` relative to `modelSourcePrefix` (e.g. `model-card.yaml`). The
   * seal reads the version that was current when the train build started.
   *
   * @param name the key relative to the source prefix: `/`-separated parts of A-Z a-z 0-9 . _ -, none empty, `.` or `..`
   * @throws if the name is not a plain relative key
   */
  public static fromInput(name: string): ModelCard {
    if (typeof name !== 'string' || name === '' || name.split('/').some((p) => p === '' || p === '.' || p === '..' || !/^[A-Za-z0-9._-]+$/.test(p))) {
      throw new Error(`ModelCard.fromInput: the name must be a key relative to modelSourcePrefix (parts of A-Z a-z 0-9 . _ -, no empty, "." or ".." part), got ${JSON.stringify(name)}`);
    }
    return new ModelCard(undefined, name);
  }

  /** The absolute path of the card file, for {@link ModelCard.fromFile}. */
  public readonly filePath?: string;
  /** The key relative to the source prefix, for {@link ModelCard.fromInput}. */
  public readonly inputName?: string;

  private constructor(filePath: string | undefined, inputName: string | undefined) {
    this.filePath = filePath;
    this.inputName = inputName;
  }
}
