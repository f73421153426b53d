// The shared setup with two changes. No "import"/"module" resolve conditions (as in
// packages/cluster): vitest passes the SSR conditions to the worker as node --conditions, and
// with "import" there protobufjs's require("long") gets an ESM namespace, etcd's int64 lease IDs
// become doubles and lose precision. And one file at a time: the integration suites own
// namespaces and run agents on a small machine.
import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

const conditions = ['@podnet/source', 'node', 'default'];
const merged = mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      globalSetup: ['test/support/global-setup.ts'],
      fileParallelism: false,
      testTimeout: 120_000,
    },
  }),
);
merged.resolve = { ...merged.resolve, conditions };
merged.ssr = { ...merged.ssr, resolve: { ...merged.ssr?.resolve, conditions } };
export default defineConfig(merged);
