// The Bun runtime's own start-up: an empty program compiled the way apps/cni compiles podnet's
// executables (`--compile --bytecode --minify`, no autoloading). Its run time is the floor under
// any podnet call; podnet VERSION minus this is what podnet's bundle adds at start.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runOk } from '@podnet/lab';
import { bunBinary } from './runner-client.js';

export async function compileFloor(dir: string): Promise<string> {
  const entry = path.join(dir, 'empty.js');
  const outfile = path.join(dir, 'empty-bun');
  await writeFile(entry, 'process.stdout.write("{}\\n");\n');
  await runOk(
    bunBinary(),
    [
      'build', entry, '--compile', '--bytecode', '--minify', '--format=esm', '--target=bun',
      '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig', '--outfile', outfile,
    ],
    { cwd: dir, timeoutMs: 120_000 },
  );
  return outfile;
}
