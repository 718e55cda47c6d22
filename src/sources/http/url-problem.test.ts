import { describe, expect, it } from 'vitest';
import { BAD_PORTS, urlProblem } from './url-problem.ts';

describe('urlProblem', () => {
  it('accepts absolute http and https URLs on ordinary ports', () => {
    for (const url of [
      'https://api.example.com',
      'http://127.0.0.1:8080/v1',
      'https://api.example.com:443/x?y=1',
      'http://[::1]:3000',
    ]) {
      expect(urlProblem(url)).toBeNull();
    }
  });

  it('refuses what fetch can never get: another scheme, a relative URL, a blocked port', () => {
    expect(urlProblem('ftp://files.example.com/x')).toBe(
      'must be an http:// or https:// URL; fetch cannot get a "ftp:" URL',
    );
    expect(urlProblem('file:///etc/hosts')).toMatch(/must be an http:\/\/ or https:\/\/ URL/);
    expect(urlProblem('/v1/customers')).toBe('must be an absolute URL, starting with http:// or https://');
    expect(urlProblem('http://127.0.0.1:6000')).toBe(
      'port 6000 is one fetch refuses to connect to (a port of another protocol, on the WHATWG ' +
        'fetch standard\'s "bad ports" list); use the port the API is served on',
    );
    expect(urlProblem('https://api.example.com:1/')).toMatch(/^port 1 is one fetch refuses/);
  });

  it("lists only ports Node's own fetch refuses (no network: a bad port fails before connecting)", async () => {
    for (const port of BAD_PORTS) {
      const error = await fetch(`http://127.0.0.1:${port}/`).then(
        () => null,
        (e: unknown) => e as { cause?: { message?: string } },
      );
      expect(error?.cause?.message, `port ${port}`).toBe('bad port');
    }
  });
});
