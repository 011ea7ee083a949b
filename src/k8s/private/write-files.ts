import * as fs from 'fs';
import * as path from 'path';
import { EngineTestFile } from '../engine-test-file';

/**
 * Writes an engine test suite into `directory` (created if missing); returns the paths written.
 */
export function writeEngineTestFiles(directory: string, files: EngineTestFile[]): string[] {
  const written: string[] = [];
  for (const f of files) {
    const target = path.join(directory, ...f.path.split('/'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, f.content);
    written.push(target);
  }
  return written;
}
