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
# --max-semi-space-size=2 (MB): V8's young generation would otherwise grow to 16 MB per
# semi-space after a burst (5,000 peer leases at once) and keep it: ~22 MB of RSS (124 → 102 MB
# at 5,000 peers, bench:agent), for no measurable CPU (more, smaller scavenges).
here=$(dirname "$(readlink -f "$0")")
exec "\${PODNETD_NODE:-node}" --max-semi-space-size=2 "$here/../../apps/agent/dist/main.js" "$@"
`,
);
chmodSync(target, 0o755);
