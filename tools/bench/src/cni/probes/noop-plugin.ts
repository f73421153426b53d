// The plugin the start-up probes hand to the skel: they only ever answer VERSION.
import type { Plugin } from '@podnet/core/cni';

const never = async (): Promise<never> => {
  throw new Error('start-up probe: only VERSION is answered');
};

export function noopPlugin(keep: readonly unknown[] = []): Plugin {
  // What a probe imports is stored where the bundler must assume it is used, so those modules
  // are bundled and evaluated at start exactly as in a plugin that uses them.
  (globalThis as Record<string, unknown>)['pntBnProbeKeep'] = keep;
  return { add: never, del: never, check: never };
}
