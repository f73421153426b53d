import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

export default mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      // The executables must exist before any test runs (built when missing or stale).
      globalSetup: ['test/support/global-setup.ts'],
      // One file at a time: the suites create namespaces, bridges and containers on a shared
      // 2-core machine, and podman is heavy.
      fileParallelism: false,
      testTimeout: 60_000,
    },
  }),
);
