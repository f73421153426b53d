// @ts-check
// `nx g @podnet/generators:backend <name>`: a new backend package on the pattern of the real ones,
// wired into every place that selects a backend by name. Plain JavaScript (type-checked by tsc
// through JSDoc) because nx loads a generator with Node's own loader: TypeScript would need a
// transpiler registered (swc/ts-node) or Node 22's type stripping, and CI runs Node 20.
//
// Everything goes through nx's virtual Tree: a refusal, or a wiring anchor that is not where it
// is expected, throws before a single file is written.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import devkit from '@nx/devkit';
import { appendToBlock, insertImport, objectKey, sortedDependencies } from './wiring.js';
import { validateBackendName } from './name.js';

const { generateFiles, joinPathFragments, readJson, updateJson } = devkit;
const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * @typedef {{ name: string; skipInstall?: boolean; skipFormat?: boolean }} BackendOptions
 * @typedef {import('@nx/devkit').Tree} Tree
 */

/** @param {Tree} tree @param {string} file */
function read(tree, file) {
  const text = tree.read(file, 'utf-8');
  if (text === null) throw new Error(`backend generator: ${file} is missing (is this the podnet workspace root?)`);
  return text;
}

/**
 * @param {Tree} tree
 * @param {BackendOptions} options
 * @returns {Promise<() => void>}
 */
export default async function backendGenerator(tree, options) {
  const name = options.name;
  const refusal = validateBackendName(name, (p) => tree.exists(p), readJson(tree, 'apps/cni/project.json'));
  if (refusal) throw new Error(`backend generator: ${refusal}`);

  const packageName = `@podnet/backend-${name}`;
  const root = `packages/backend-${name}`;
  const pascal = name
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
  const camel = pascal.charAt(0).toLowerCase() + pascal.slice(1);
  // The fixed release group keeps every @podnet package at one version: start where core is.
  const version = /** @type {{ version: string }} */ (readJson(tree, 'packages/core/package.json')).version;

  generateFiles(tree, joinPathFragments(here, 'files'), root, { name, pascal, camel, version, tmpl: '' });

  // apps/cni: a dependency makes the backend buildable (scripts/build.ts lists @podnet/backend-*),
  // the nx configuration gives `nx run cni-app:build:<name>` → dist/bin/podnet-<name>.
  updateJson(tree, 'apps/cni/package.json', (pkg) => ({ ...pkg, dependencies: sortedDependencies(pkg.dependencies, packageName) }));
  const cniProject = 'apps/cni/project.json';
  tree.write(
    cniProject,
    appendToBlock(read(tree, cniProject), '"configurations": {', `        "${name}": { "executables": "podnet-${name}" }`, cniProject, { json: true }),
  );
  const configurations = readJson(tree, cniProject).targets?.build?.configurations;
  if (configurations?.[name]?.executables !== `podnet-${name}`)
    throw new Error(`backend generator: ${cniProject}: the build configuration "${name}" did not land in targets.build.configurations`);

  // podnetd: the node half for `"Backend": {"Type": "<name>"}`, one line, loaded on demand.
  updateJson(tree, 'apps/agent/package.json', (pkg) => ({ ...pkg, dependencies: sortedDependencies(pkg.dependencies, packageName) }));
  const registry = 'apps/agent/src/backends.ts';
  tree.write(
    registry,
    appendToBlock(
      read(tree, registry),
      'export const BACKENDS: BackendRegistry = {',
      `  ${objectKey(name)}: async () => (await import('${packageName}')).backend.node,`,
      registry,
    ),
  );

  // podnetd's thick mode serves the executables' calls itself: the same pod half, with its held stores.
  const service = 'apps/agent/src/cni-service.ts';
  tree.write(
    service,
    appendToBlock(
      insertImport(read(tree, service), `import { create${pascal}PodHalf } from '${packageName}';`, service),
      'const plugins: Record<string, Plugin> = {',
      `      ${objectKey(name)}: create${pascal}PodHalf(shared),`,
      service,
    ),
  );

  // The lab: `--backend <name>` (a multi-node lab with one podnetd per node, like host-gw).
  const state = 'tools/lab/src/cluster/state.ts';
  tree.write(
    state,
    read(tree, state).replace(/export type LabBackend = ([^;]+);/, (_match, union) => `export type LabBackend = ${union} | '${name}';`),
  );
  if (!read(tree, state).includes(`| '${name}';`)) throw new Error(`backend generator: ${state}: no "export type LabBackend = …;" to extend`);
  const profiles = 'tools/lab/src/cluster/backends.ts';
  tree.write(
    profiles,
    appendToBlock(
      read(tree, profiles),
      'export const BACKENDS: Record<LabBackend, BackendProfile> = {',
      `  // ${name}: pods attach as on host-gw (the pod half reads the lease file); the routes come from its node half.\n` +
        `  ${objectKey(name)}: leaseFileBackend('podnet-${name}', 150),\n`,
      profiles,
    ),
  );
  const cli = 'tools/lab/src/cli/main.ts';
  if (tree.exists(cli)) tree.write(cli, read(tree, cli).replace(/(--backend [a-z0-9|-]+)/, `$1|${name}`));

  // The release: a changeset so the new package's first version is announced.
  tree.write(
    `.changeset/backend-${name}.md`,
    `---\n"${packageName}": minor\n---\n\nThe ${name} backend (scaffolded): pod half = the shared bridge pod half for \`${name}\` leases; node half = one route per peer subnet from \`peerRoutes\`. Say what it does before releasing.\n`,
  );

  const written = tree
    .listChanges()
    // Only what the generator created: edited files keep their layout (the insertions are in the house style).
    .filter((c) => c.type === 'CREATE' && /\.(ts|json)$/.test(c.path))
    .map((c) => c.path);
  return () => {
    const workspace = tree.root;
    const biome = path.join(workspace, 'node_modules', '.bin', 'biome');
    if (!options.skipFormat && existsSync(biome)) {
      // Written files in the house style (the format check in CI would otherwise fail on them).
      execFileSync(biome, ['format', '--write', ...written], { cwd: workspace, stdio: 'inherit' });
    }
    // Links the new package into the workspace (apps/cni and podnetd depend on it).
    if (!options.skipInstall) execFileSync('pnpm', ['install'], { cwd: workspace, stdio: 'inherit' });
    console.log(
      `\n${packageName} is in ${root}. Next: implement peerRoutes() in ${root}/src/node/routes.ts (its tests say what is missing):\n` +
        `  pnpm --filter ${packageName} test\n  npx nx run cni-app:build:${name}\n  pnpm --filter @podnet/lab run lab -- up --backend ${name}\n`,
    );
  };
}
