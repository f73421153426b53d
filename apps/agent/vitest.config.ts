import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

export default mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      globalSetup: ['test/support/global-setup.ts'],
      // One file at a time: the integration suite owns namespaces and runs agents; the machine is small.
      fileParallelism: false,
      testTimeout: 60_000,
    },
  }),
);
