import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

const GUIDE = resolve(import.meta.dirname, '../../docs/http-sources.md');

describe('docs/http-sources.md', () => {
  it('has only YAML examples that parse as written (a quoted NAME variable or {id} inside flow maps)', () => {
    const text = readFileSync(GUIDE, 'utf8');
    const snippets = [
      ...[...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!),
      // Inline YAML in the prose, such as `fetchById: { path: "/v1/customers/{id}" }` (a line
      // break inside one is a space).
      ...[...text.matchAll(/`([a-zA-Z.]+: \{[^`]*\})`/g)].map((m) => m[1]!.replace(/\s+/g, ' ')),
    ];
    expect(snippets.length).toBeGreaterThan(5);
    const broken = snippets
      .map((yaml) => ({ yaml, error: parseDocument(yaml).errors[0]?.message.split('\n')[0] }))
      .filter((s) => s.error !== undefined);
    expect(broken).toEqual([]);
  });
});
