/**
 * One file of an engine's offline test suite (`kyverno test`, `gator verify`), relative to the suite's folder.
 */
export interface EngineTestFile {
  /** The path relative to the suite's folder, with `/` separators, e.g. `kyverno-test.yaml`. */
  readonly path: string;

  /** The file's content (YAML). */
  readonly content: string;
}
