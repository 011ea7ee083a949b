/**
 * The trust policies shown in README.md and docs/ are valid: schema, and every CEL condition compiles. Snippets that
 * hold only an `attestations:` block are checked inside a minimal policy.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { compileCel } from '../src/runtime/policy/cel';
import { validatePolicySchema } from '../src/runtime/policy/load';

const root = path.join(__dirname, '..');
const files = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function policySnippets(): { where: string; doc: Record<string, unknown> }[] {
  const out: { where: string; doc: Record<string, unknown> }[] = [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    for (const [i, m] of [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].entries()) {
      const doc = parse(m[1]) as Record<string, unknown> | null;
      if (!doc || typeof doc !== 'object') continue;
      if (doc.kind === 'TrustPolicy') {
        out.push({ where: `${file} yaml block ${i}`, doc });
      } else if (Object.keys(doc).length === 1 && Array.isArray(doc.attestations)) {
        const signers = new Set((doc.attestations as { signers?: unknown }[]).flatMap((a) => (Array.isArray(a.signers) ? a.signers : [])));
        out.push({
          where: `${file} yaml block ${i} (attestations only)`,
          doc: {
            apiVersion: 'modelseal.dev/v1',
            kind: 'TrustPolicy',
            signers: [...(signers.size ? signers : new Set(['ci']))].map((name) => ({ name, publicKey: `${name}.pub.pem` })),
            require: { allOf: [...(signers.size ? signers : new Set(['ci']))] },
            attestations: doc.attestations,
          },
        });
      }
    }
  }
  return out;
}

test('every trust policy in the README and docs passes the schema and compiles its CEL', async () => {
  const snippets = policySnippets();
  expect(snippets.length).toBeGreaterThanOrEqual(4);
  const problems: string[] = [];
  for (const { where, doc } of snippets) {
    for (const issue of validatePolicySchema(doc)) problems.push(`${where}: ${issue.path}: ${issue.message}`);
    for (const [ai, a] of ((doc.attestations as { conditions?: { expression: string }[] }[] | undefined) ?? []).entries()) {
      for (const [ci, c] of (a.conditions ?? []).entries()) {
        const compiled = await compileCel(c.expression);
        if (!compiled.ok) problems.push(`${where}: /attestations/${ai}/conditions/${ci}: ${compiled.error}`);
      }
    }
  }
  expect(problems).toEqual([]);
});

describe('docs/THREAT_MODEL.md', () => {
  const text = fs.readFileSync(path.join(root, 'docs', 'THREAT_MODEL.md'), 'utf8');
  const paths = [...new Set([...text.matchAll(/`((?:src|test|scripts|examples|docs|schemas|enclave)\/[^`\s]+)`/g)].map((m) => m[1]))];

  test('every file a control points at exists', () => {
    expect(paths.length).toBeGreaterThanOrEqual(30);
    expect(paths.filter((p) => !fs.existsSync(path.join(root, p)))).toEqual([]);
  });

  test('every attacker the issue names has a section, and every control row names its code and its test', () => {
    for (const attacker of ['malicious model uploader', 'compromised training dependency', 'compromised signer', 'insider with cluster-admin', 'Root on a serving instance', 'publish rights on the store']) {
      expect(text.toLowerCase()).toContain(attacker.toLowerCase());
    }
    const rows = text.split('\n').filter((l) => /^\| [^-|]/.test(l) && l.split('|').length === 6 && !l.startsWith('| control'));
    const controls = rows.filter((l) => !l.includes('**Not stopped'));
    expect(controls.length).toBeGreaterThanOrEqual(15);
    for (const row of controls) {
      const [, , , code, test] = row.split('|').map((c) => c.trim());
      expect([row, /`src\//.test(code)]).toEqual([row, true]);
      expect([row, /`test\//.test(test)]).toEqual([row, true]);
    }
  });
});
