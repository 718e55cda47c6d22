import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default is one worker less than the cores: on a 2-core machine every file ran after
    // the other. Most of the slow files spend their time waiting (the CLI tests on child processes,
    // the chaos runs on their 60-second clock, PostgreSQL on the server), so three run side by side.
    maxWorkers: 3,
  },
});
