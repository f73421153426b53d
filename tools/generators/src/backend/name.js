// @ts-check
// Which backend names the generator accepts. The name becomes a package name
// (@podnet/backend-<name>), an executable and conflist type (podnet-<name>), a podnetd
// `Backend.Type`, an nx configuration and a lab `--backend`: so lower-case letters, digits and
// single inner dashes only, which is valid in all of them.

const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
/** Executables apps/cni builds that are not backends: podnet-<name> must not collide with them. */
const RESERVED = new Set(['ipam', 'portmap']);
/** podnet-<name> stays well inside a file name, and the package name inside npm's 214 characters. */
const MAX_LENGTH = 40;

/**
 * Why `name` cannot be a new backend, or undefined when it can.
 * @param {unknown} name
 * @param {(path: string) => boolean} exists a workspace path exists
 * @param {{ targets?: { build?: { configurations?: Record<string, unknown> } } }} cniProject apps/cni/project.json
 * @returns {string | undefined}
 */
export function validateBackendName(name, exists, cniProject) {
  if (typeof name !== 'string' || name === '') return 'a backend name is required: nx g @podnet/generators:backend <name>';
  if (name.startsWith('backend-')) return `"${name}": give the name without "backend-" (the package becomes @podnet/backend-<name>)`;
  if (!NAME.test(name)) {
    return `"${name}" is not a valid backend name: expected lower-case letters, digits and single dashes, starting with a letter (it becomes @podnet/backend-${name} and podnet-${name})`;
  }
  if (name.length > MAX_LENGTH) return `"${name}" is too long: at most ${MAX_LENGTH} characters`;
  if (RESERVED.has(name)) return `"${name}" is taken: podnet-${name} is an executable apps/cni already builds`;
  if (exists(`packages/backend-${name}`)) return `"${name}" exists: packages/backend-${name} is already there`;
  if (cniProject.targets?.build?.configurations && Object.hasOwn(cniProject.targets.build.configurations, name)) {
    return `"${name}" exists: apps/cni/project.json already has a build configuration "${name}"`;
  }
  return undefined;
}
