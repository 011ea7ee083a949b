/** A trust policy document written as YAML (block style; every string quoted as JSON, which YAML reads the same). */
export function trustPolicyYaml(doc: Record<string, unknown>): string {
  const lines: string[] = [];
  const scalar = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  const emit = (value: unknown, indent: string, key?: string) => {
    const head = key === undefined ? indent : `${indent}${key}:`;
    if (Array.isArray(value)) {
      if (value.every((v) => typeof v !== 'object')) {
        lines.push(`${head}${key === undefined ? '' : ' '}[${value.map(scalar).join(', ')}]`);
        return;
      }
      lines.push(head);
      for (const item of value) {
        const entries = Object.entries(item as Record<string, unknown>);
        entries.forEach(([k, v], i) => emit(v, i === 0 ? `${indent}  - ` : `${indent}    `, k));
      }
    } else if (value !== null && typeof value === 'object') {
      lines.push(head);
      for (const [k, v] of Object.entries(value)) emit(v, `${indent}  `, k);
    } else {
      lines.push(`${head} ${scalar(value)}`);
    }
  };
  for (const [k, v] of Object.entries(doc)) emit(v, '', k);
  return lines.join('\n') + '\n';
}
