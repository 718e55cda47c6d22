// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are config text, whose ${NAME} references are the subject.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { readDeclarativeFile } from './read-declarative-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'syncline-declarative-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function read(text: string, vars: Record<string, string> = {}, ext = 'yaml'): unknown {
  const path = join(dir, `config-${files++}.${ext}`);
  writeFileSync(path, text);
  return readDeclarativeFile(path, `syncline.config.${ext}`, vars);
}

function failure(text: string, vars: Record<string, string> = {}, ext = 'yaml'): string {
  try {
    read(text, vars, ext);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the file was accepted');
}

describe('readDeclarativeFile: ${NAME} references', () => {
  it('accepts a bare reference as a whole value inside a flow map, as in block style', () => {
    const url = 'http://127.0.0.1:8080';
    expect(read('request: { baseUrl: ${API_URL}, path: /v1/customers }\n', { API_URL: url })).toEqual({
      request: { baseUrl: url, path: '/v1/customers' },
    });
    expect(read('request:\n  baseUrl: ${API_URL}\n', { API_URL: url })).toEqual({
      request: { baseUrl: url },
    });
    expect(read('hosts: [${A}, ${B}]\n', { A: 'a', B: 'b' })).toEqual({ hosts: ['a', 'b'] });
  });

  it('accepts a bare reference inside a longer value in a flow map', () => {
    expect(
      read('request: { path: /v1/${TENANT}/items, q: { k: x${N}y } }\n', { TENANT: 't1', N: '2' }),
    ).toEqual({
      request: { path: '/v1/t1/items', q: { k: 'x2y' } },
    });
  });

  it('keeps quoted references working, in both quote styles', () => {
    expect(read(`a: { b: "\${X}", c: '\${X}/v1' }\nd: "\${X}"\n`, { X: 'x' })).toEqual({
      a: { b: 'x', c: 'x/v1' },
      d: 'x',
    });
  });

  it('makes a value one string scalar whatever it holds: no YAML can be injected through it', () => {
    const value = 'a: b, c: [d] # e\n  f: {g}\n- h';
    expect(read('request: { baseUrl: ${V}, path: /p }\nother: ${V}\n', { V: value })).toEqual({
      request: { baseUrl: value, path: '/p' },
      other: value,
    });
  });

  it('reads references in block scalars and leaves keys as written', () => {
    expect(read('note: |\n  at ${X}: here\n${X}: 1\n', { X: 'x' })).toEqual({
      note: 'at x: here\n',
      '${X}': 1,
    });
  });

  it('names a reference whose variable is not set', () => {
    expect(failure('request: { baseUrl: ${NOT_SET_ANYWHERE} }\n')).toBe(
      'syncline.config.yaml: uses ${NOT_SET_ANYWHERE}, but environment variable NOT_SET_ANYWHERE is not set',
    );
  });

  it('substitutes references in JSON strings', () => {
    expect(read('{ "request": { "baseUrl": "${X}" } }', { X: 'x' }, 'json')).toEqual({
      request: { baseUrl: 'x' },
    });
  });
});
