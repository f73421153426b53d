// The shared setup, with one change: no "import"/"module" resolve conditions. vitest hands the
// SSR conditions to the test worker as node --conditions, and with "import" there, require() of a
// dual package takes its ESM branch: protobufjs's require("long") then gets a namespace object,
// treats int64 as doubles, and etcd lease IDs lose precision ("requested lease not found").
import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

const conditions = ['@podnet/source', 'node', 'default'];
const merged = mergeConfig(sharedConfig, {});
merged.resolve = { ...merged.resolve, conditions };
merged.ssr = { ...merged.ssr, resolve: { ...merged.ssr?.resolve, conditions } };
export default defineConfig(merged);
