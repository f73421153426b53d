// Where the compiled executables are: `<repo>/dist/bin`, written by `pnpm build`.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The workspace root: the nearest directory above this file holding pnpm-workspace.yaml. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'pnpm-workspace.yaml'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('pnpm-workspace.yaml not found above tools/lab');
    dir = parent;
  }
  return dir;
}

/** `dist/bin/<name>`; throws with the command that builds it when it is missing. */
export function executable(name: string): string {
  const file = path.join(repoRoot(), 'dist', 'bin', name);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`pnpm build\` at the repository root first`);
  return file;
}
