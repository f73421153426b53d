// One vitest setup for every package: resolve workspace packages to their TypeScript sources
// (the "@podnet/source" export condition), so tests never run against a stale dist/.
import { defineConfig } from 'vitest/config';

export const sharedConfig = defineConfig({
  resolve: { conditions: ['@podnet/source', 'module', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['@podnet/source', 'module', 'node', 'import', 'default'] } },
  test: {
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});
