// Shared by the CNI protocol's unit tests. Never shipped: the build leaves src/**/testing/** out.
import type { CniError } from '../errors.js';

/** The error `fn` throws, to assert on its code, msg and details; fails the test when none is thrown. */
export function errorOf(fn: () => unknown): CniError {
  try {
    fn();
  } catch (err) {
    return err as CniError;
  }
  throw new Error('expected an error');
}
