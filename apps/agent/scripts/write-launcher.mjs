// Writes dist/bin/podnetd at the workspace root: a two-line shell launcher that runs the built
// agent (apps/agent/dist/main.js) on Node with the workspace's node_modules. Not a bundle: the
// agent loads native addons (koffi, classic-level) that a bundler cannot inline, and Node is the
// runtime podnetd ships on (the etcd gRPC client is not reliable under Bun).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const target = join(root, 'dist', 'bin', 'podnetd');
mkdirSync(dirname(target), { recursive: true });
writeFileSync(
  target,
  `#!/bin/sh
# podnetd, the podnet node agent (written by the apps/agent build; see apps/agent/README.md).
# PODNETD_NODE picks the node binary (default: node on PATH, version 20 or later).
here=$(dirname "$(readlink -f "$0")")
exec "\${PODNETD_NODE:-node}" "$here/../../apps/agent/dist/main.js" "$@"
`,
);
chmodSync(target, 0o755);
