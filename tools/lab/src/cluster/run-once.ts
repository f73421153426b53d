// up → status → matrix → down (unless keepUp): the demo's flow, and `lab run` with any options.
// Interrupted (SIGINT/SIGTERM), it still removes the lab.
import { ClusterLab, type UpOptions } from './lab.js';
import { renderMatrix } from './matrix.js';
import { renderStatus } from './render.js';
import { DEFAULT_STATE_ROOT } from './state.js';
import { sweepLab } from './sweep.js';

export interface RunOnceOptions extends UpOptions {
  keepUp?: boolean;
  /** Where progress goes (default stdout). */
  write?: (line: string) => void;
}

/** Resolves to true when every matrix cell passed. */
export async function runOnce(opts: RunOnceOptions): Promise<boolean> {
  const say = opts.write ?? ((s: string) => void process.stdout.write(`${s}\n`));
  const bold = (s: string): string => (process.stdout.isTTY && !opts.write ? `\x1b[1m${s}\x1b[0m` : s);
  const step = (s: string): void => say(`\n${bold(`▸ ${s}`)}`);
  const indent = (text: string): string =>
    text
      .split('\n')
      .map((l) => (l ? `  ${l}` : l))
      .join('\n');
  const backend = opts.backend ?? 'host-gw';
  const root = opts.stateRoot ?? DEFAULT_STATE_ROOT;

  let lab: ClusterLab | undefined;
  let id: string | undefined;
  let stopping = false;
  const interrupted = (): void => {
    if (stopping) return;
    stopping = true;
    void (id ? sweepLab(id, root) : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const agents = backend === 'bridge' ? 'no agent (static subnet)' : 'one podnetd per node';
    step(
      `up: a fabric namespace (the underlay switch), ${opts.nodes ?? (backend === 'bridge' ? 1 : 3)} node namespaces, ${agents}, ${opts.pods ?? 2} pods per node (${backend}${backend === 'bridge' ? '' : `, store ${opts.store ?? 'local'}`}, CNI ${opts.cniMode ?? 'embedded'})`,
    );
    lab = await ClusterLab.up({ ...opts, log: (line) => say(`  ${line}`), onId: (x) => (id = x) });

    step(
      backend === 'bridge'
        ? 'status: the node and its pods'
        : 'status: each node leased a subnet from the store; its agent routes every peer subnet via the peer node (protocol 83)',
    );
    say(indent(renderStatus(lab, await lab.status())));

    step(
      'matrix: TCP from every pod and every node to every pod, and from every pod to a host outside the cluster; each receiver reports the source address it saw',
    );
    const m = await lab.matrix();
    say(indent(renderMatrix(m)));
    return m.ok;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    if (lab && opts.keepUp) {
      step(`--keep-up: lab ${lab.id} stays up`);
      say(`  pnpm --filter @podnet/lab run lab -- status | matrix | down`);
    } else if (lab) {
      step('down: agents stopped, namespaces and state removed');
      const r = await sweepLab(lab.id, root);
      say(`  removed ${r.namespaces.length} namespaces, ${r.processes.length} processes, ${r.dirs.length} state directories`);
    }
  }
}
