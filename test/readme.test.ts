/**
 * The README's TypeScript examples compile against the library as it is (imports of 'modelseal' point at src/).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..');

test('every ```ts block in README.md type-checks', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks.length).toBeGreaterThanOrEqual(3);

  const dir = path.join(root, '.tmp', 'readme-snippets');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const files = blocks.map((code, i) => {
    const file = path.join(dir, `snippet${i}.ts`);
    fs.writeFileSync(file, `export {};\n${code.replace(/from 'modelseal'/g, "from '../../src'")}`);
    return file;
  });
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    extends: '../../tsconfig.dev.json',
    compilerOptions: { noUnusedLocals: false, rootDir: '../..' },
    include: files.map((f) => path.basename(f)),
  }));
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', path.join(dir, 'tsconfig.json')], { cwd: root, stdio: 'pipe' });
  } catch (e) {
    const out = (e as { stdout?: Buffer }).stdout?.toString() ?? String(e);
    throw new Error(`README examples do not compile:\n${out}`);
  }
});
