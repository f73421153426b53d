// `lab up|status|matrix|down`: the multi-node lab from the command line (see ../../README.md).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseBackend, parseCniMode } from '../cluster/backends.js';
import { parseTopology } from '../cluster/routed.js';
import { ClusterLab, DEFAULT_LAB_PREFIX } from '../cluster/lab.js';
import { renderMatrix } from '../cluster/matrix.js';
import { renderStatus } from '../cluster/render.js';
import { runOnce } from '../cluster/run-once.js';
import { DEFAULT_STATE_ROOT, labDirs, type LabStoreKind } from '../cluster/state.js';
import { sweepLab, sweepLabs } from '../cluster/sweep.js';

const USAGE = `usage: lab <command> [options]

commands
  run      up, status, matrix, then down (unless --keep-up): the demo with any options
  up       create the nodes, the store, one podnetd per node and the pods; leave them running
  status   nodes, subnets (lease files), agent health, agent routes, pods
  matrix   the connectivity matrix (exit 1 when a cell fails)
  down     remove every lab with the prefix: processes, namespaces, state (also after a crash)

options
  --nodes N                 nodes (default 3; the bridge backend has exactly 1)
  --pods M                  pods per node (default 2)
  --backend host-gw|vxlan|bridge  default host-gw; bridge = one node, static subnet, no agent
  --topology flat|routed|mixed    the underlay: one segment (default), a segment per node routed by
                            the fabric, or nodes 1-2 on one segment and the rest routed (VXLAN)
  --direct-routing          vxlan: Backend.DirectRouting (peers on one segment skip the tunnel)
  --store local|etcd        the agents' lease store (default local; etcd runs etcd-server in the lab)
  --cni-mode embedded|thick embedded (default): each CNI executable does the whole call; thick: each
                            node's podnetd serves its CNI calls on <state>/n<k>/cni.sock (bridge:
                            podnetd serve-cni) and the executables are thin clients of it
  --reconcile-period D      the agents' --reconcile-period (default 10s)
  --prefix P                name prefix (default ${DEFAULT_LAB_PREFIX}); down removes every lab with it
  --state-dir DIR           where lab state lives (default ${DEFAULT_STATE_ROOT})
  --lab ID                  which lab status/matrix look at (default: the newest with the prefix)
  --keep-up                 run: leave the lab up at the end
  --json                    status/matrix as JSON
`;

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new Error(`--${name}: "${value}" is not a whole number`);
  return n;
}

function store(value: string | undefined): LabStoreKind | undefined {
  if (value === undefined || value === 'local' || value === 'etcd') return value;
  throw new Error(`--store: "${value}" is not one of local, etcd`);
}

async function findLab(root: string, prefix: string, id: string | undefined): Promise<ClusterLab> {
  if (id) return ClusterLab.open(path.join(root, id));
  const dirs = await labDirs(root, prefix);
  const dir = dirs.at(-1);
  if (!dir) throw new Error(`no lab with the prefix "${prefix}" under ${root}: run \`lab up\` first`);
  if (dirs.length > 1) process.stderr.write(`(${dirs.length} labs; showing ${path.basename(dir)}; pick one with --lab)\n`);
  return ClusterLab.open(dir);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      nodes: { type: 'string' },
      pods: { type: 'string' },
      backend: { type: 'string' },
      topology: { type: 'string' },
      'direct-routing': { type: 'boolean' },
      store: { type: 'string' },
      'cni-mode': { type: 'string' },
      'reconcile-period': { type: 'string' },
      prefix: { type: 'string' },
      'state-dir': { type: 'string' },
      lab: { type: 'string' },
      json: { type: 'boolean' },
      'keep-up': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (process.getuid?.() !== 0) throw new Error('the lab creates network namespaces: run it as root');
  const root = values['state-dir'] ?? DEFAULT_STATE_ROOT;
  const prefix = values.prefix ?? DEFAULT_LAB_PREFIX;
  const say = (s: string): void => void process.stdout.write(`${s}\n`);
  switch (command) {
    case 'run':
    case 'up': {
      const nodes = int('nodes', values.nodes);
      const pods = int('pods', values.pods);
      const backend = values.backend === undefined ? undefined : parseBackend(values.backend);
      const st = store(values.store);
      const options = {
        prefix,
        stateRoot: root,
        ...(nodes === undefined ? {} : { nodes }),
        ...(pods === undefined ? {} : { pods }),
        ...(backend === undefined ? {} : { backend }),
        ...(values.topology === undefined ? {} : { topology: parseTopology(values.topology) }),
        ...(values['direct-routing'] ? { backendOptions: { DirectRouting: true } } : {}),
        ...(st === undefined ? {} : { store: st }),
        ...(values['cni-mode'] === undefined ? {} : { cniMode: parseCniMode(values['cni-mode']) }),
        ...(values['reconcile-period'] ? { reconcilePeriod: values['reconcile-period'] } : {}),
      };
      if (command === 'run') return (await runOnce({ ...options, keepUp: values['keep-up'] === true })) ? 0 : 1;
      const lab = await ClusterLab.up({ ...options, log: say });
      say(`lab ${lab.id} is up: \`lab status\`, \`lab matrix\`, \`lab down\``);
      return 0;
    }
    case 'status': {
      const lab = await findLab(root, prefix, values.lab);
      const status = await lab.status();
      say(values.json ? JSON.stringify({ state: lab.state, status }, null, 2) : renderStatus(lab, status));
      return 0;
    }
    case 'matrix': {
      const lab = await findLab(root, prefix, values.lab);
      const m = await lab.matrix();
      say(values.json ? JSON.stringify(m, null, 2) : renderMatrix(m));
      return m.ok ? 0 : 1;
    }
    case 'down': {
      const r = values.lab ? await sweepLab(values.lab, root) : await sweepLabs(prefix, root);
      say(`removed ${r.namespaces.length} namespaces, ${r.processes.length} processes, ${r.dirs.length} state directories`);
      return 0;
    }
    default:
      process.stderr.write(`lab: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

// `pnpm run lab -- up` hands the `--` on: drop it, it ends no options here.
// A reader that goes away (`lab run | head`) must not stop the clean-up half-way: output is lost, work is not.
process.stdout.on('error', () => {});
const argv = process.argv.slice(2);
main(argv[0] === '--' ? argv.slice(1) : argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`lab: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
