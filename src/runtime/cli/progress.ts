/**
 * A one-line hashing progress bar on stderr, drawn only when stderr is a terminal.
 */

/** The output stream a progress bar draws on. */
export interface ProgressStream {
  /** True when the stream is a terminal. */
  readonly isTTY?: boolean;
  /** Writes text. */
  write(chunk: string): unknown;
}

/** A progress callback and a function that clears the line when hashing ends. */
export interface ProgressBar {
  readonly onProgress?: (done: number, total: number) => void;
  done(): void;
}

/**
 * Creates a progress bar for `stream`; a no-op when the stream is not a TTY or `quiet` is set, so logs and pipes
 * stay clean.
 */
export function progressBar(stream: ProgressStream, label: string, quiet = false): ProgressBar {
  if (quiet || !stream.isTTY) {
    return { done: () => undefined };
  }
  let drawn = false;
  return {
    onProgress: (done, total) => {
      const ratio = total > 0 ? Math.min(1, done / total) : 1;
      const width = 30;
      const filled = Math.round(ratio * width);
      stream.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${gib(done)}/${gib(total)} GiB`);
      drawn = true;
    },
    done: () => {
      if (drawn) {
        stream.write('\r\x1b[2K');
      }
    },
  };
}

function gib(n: number): string {
  return (n / 1024 ** 3).toFixed(2);
}
