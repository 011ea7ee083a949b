/**
 * The rule for model names (`refs/<name>/<version>`), shared by the store and the build runner construct: a name the
 * construct accepts must be one `modelseal ref set` accepts, or a build fails after hours of training.
 *
 * Dependency-free on purpose: the construct library imports it.
 */

/** Longest model name in a ref. */
export const MAX_REF_NAME_LENGTH = 200;

/** One `/`-separated part of a model name, or a whole version: starts with a letter or digit. */
export const REF_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * What is wrong with a model name, or undefined when it is valid.
 *
 * A name is 1–200 characters: `/`-separated parts of `A-Z a-z 0-9 . _ -`, each starting with a letter or digit (so
 * no `..`, no hidden parts, no leading or trailing `/`).
 */
export function modelNameProblem(name: string): string | undefined {
  return name.length === 0 ? 'is empty'
    : name.length > MAX_REF_NAME_LENGTH ? `is ${name.length} characters, over the ${MAX_REF_NAME_LENGTH}-character limit`
      : name.includes('..') ? 'contains ".."'
        : name.startsWith('/') ? 'starts with "/"'
          : name.endsWith('/') ? 'ends with "/"'
            : name.split('/').some((s) => !REF_SEGMENT.test(s)) ? 'has a part that is empty, does not start with a letter or digit, or uses a character outside A-Z a-z 0-9 . _ -'
              : undefined;
}

/** The sentence that says what a valid model name is. */
export const MODEL_NAME_RULE = `a name is 1-${MAX_REF_NAME_LENGTH} characters of A-Z a-z 0-9 . _ - and /, each /-separated part starting with a letter or digit`;
