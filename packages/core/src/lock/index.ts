// Inter-process file locks (flock), bounded and removable.
export { lockFile, tryLockFile } from './file-lock.js';
export type { FileLockOptions, HeldLock } from './file-lock.js';
