/**
 * Module-specifier helpers for the layout tests (test/architecture.test.ts, test/package.test.ts).
 */
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as ts from 'typescript';

/** Whether a specifier names a Node built-in (`fs`, `node:crypto`, `fs/promises`). */
export function isBuiltin(specifier: string): boolean {
  const name = specifier.replace(/^node:/, '');
  return builtinModules.includes(name) || builtinModules.includes(name.split('/')[0]);
}

/** The package a bare specifier loads: `aws-cdk-lib/aws-s3` → `aws-cdk-lib`, `@aws-sdk/client-s3/x` → `@aws-sdk/client-s3`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Every static import, export-from, `require()` and `import()` of a file, as TypeScript's own pre-parser sees them. */
export function importsOf(file: string): string[] {
  return ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}
