/**
 * Noticing that mounted files changed: `fs.watch` on their folders for a prompt reload, and a periodic comparison
 * of a fingerprint (the files' bytes by default) for the events `fs.watch` misses (some volume types, and the
 * symlink swap a Kubernetes Secret or ConfigMap update makes, are not reported everywhere).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** Options of {@link FileWatch}. */
export interface FileWatchOptions {
  /** Poll interval in ms (0: events only). @default 10000 */
  readonly pollMs?: number;
  /** Delay between an event and the comparison, so a burst of events is one change, in ms. @default 100 */
  readonly debounceMs?: number;
  /** What is compared. @default - SHA-256 of the files' bytes */
  readonly fingerprint?: () => string;
}

/** Calls `onChange` when the fingerprint of `files` changes. */
export class FileWatch {
  private readonly watchers: fs.FSWatcher[] = [];
  private readonly timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private last: string;
  private closed = false;

  public constructor(
    private readonly files: readonly string[],
    private readonly onChange: () => void,
    private readonly options: FileWatchOptions = {},
  ) {
    this.last = this.fingerprint();
    for (const dir of new Set(files.map((f) => path.dirname(path.resolve(f))))) {
      try {
        const w = fs.watch(dir, { persistent: false }, () => this.schedule());
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch {
        // no events on this volume: the poll still sees changes
      }
    }
    const pollMs = options.pollMs ?? 10_000;
    if (pollMs > 0) {
      this.timer = setInterval(() => this.compare(), pollMs);
      this.timer.unref();
    }
  }

  /** Stops watching. */
  public close(): void {
    this.closed = true;
    this.watchers.forEach((w) => w.close());
    clearInterval(this.timer);
    clearTimeout(this.debounce);
  }

  private schedule(): void {
    if (this.closed) {
      return;
    }
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.compare(), this.options.debounceMs ?? 100);
    this.debounce.unref();
  }

  private compare(): void {
    if (this.closed) {
      return;
    }
    const now = this.fingerprint();
    if (now !== this.last) {
      this.last = now;
      this.onChange();
    }
  }

  private fingerprint(): string {
    if (this.options.fingerprint) {
      return this.options.fingerprint();
    }
    const h = createHash('sha256');
    for (const f of this.files) {
      try {
        h.update(fs.readFileSync(f)).update('\0');
      } catch (e) {
        h.update(`missing:${(e as NodeJS.ErrnoException).code ?? ''}\0`);
      }
    }
    return h.digest('hex');
  }
}
