// Bun plugin: embed the prebuilt native addon of packages that load it through `node-gyp-build`
// (classic-level, the LevelDB binding of the IPAM store).
//
// Why: `node-gyp-build(__dirname)` searches `prebuilds/` at run time, so `bun build --compile`
// cannot see the `.node` file and the executable silently keeps loading it from the absolute
// node_modules path of the build machine (checked: with /work hidden by a mount namespace the
// executable fails with "No native build was found"). Replacing the call by a literal
// `require("<abs>/prebuilds/<platform>-<arch>/<name>.node")` lets Bun embed the file; the
// executable extracts it to a temp file and dlopens it on first use.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { BunPlugin } from 'bun';

const NAMESPACE = 'podnet-prebuilt-addon';

/** The package directory that holds `file` (nearest package.json upwards). */
function packageDirOf(file: string): string {
  let dir = path.dirname(file);
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${file}`);
    dir = parent;
  }
  return dir;
}

/** The glibc build for this platform (Debian is the supported host); musl builds are skipped. */
function prebuiltAddon(packageDir: string): string {
  const dir = path.join(packageDir, 'prebuilds', `${process.platform}-${process.arch}`);
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node') && !f.includes('.musl.')) : [];
  if (files.length !== 1) {
    throw new Error(`expected one prebuilt addon in ${dir}, found ${files.length ? files.join(', ') : 'none'}`);
  }
  return path.join(dir, files[0]!);
}

export function embedPrebuiltAddons(): BunPlugin {
  return {
    name: 'embed-prebuilt-addons',
    setup(build) {
      build.onResolve({ filter: /^node-gyp-build$/ }, (args) => ({ path: packageDirOf(args.importer), namespace: NAMESPACE }));
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
        contents: `module.exports = () => require(${JSON.stringify(prebuiltAddon(args.path))});\n`,
        loader: 'js',
      }));
    },
  };
}
