// The command line (commander): `podnetd [run]`, `podnetd status`, `podnetd teardown`.
// Settings come from defaults ← `--config <file>` (JSON) ← flags; see options.ts.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { DEFAULT_DAEMON_SOCKET } from '@podnet/core/daemon';
import { Agent } from './agent.js';
import { CniService } from './cni-service.js';
import type { AgentDeps } from './agent.js';
import { createLogger, LOG_FORMATS, LOG_LEVELS } from './logger.js';
import type { Logger } from './logger.js';
import { DEFAULTS, readConfigFile, resolveOptions } from './options.js';
import type { AgentOptions, RawOptions } from './options.js';
import { fetchStatus, formatStatus } from './status-client.js';
import { teardown } from './teardown.js';

type Flags = RawOptions & { config?: string; json?: boolean; release?: boolean };

function common(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'JSON config file; keys are the flags in camelCase (e.g. "reconcilePeriod": "10s"); flags override it')
    .option('--node <name>', "this node's name: the identity its lease is kept by (default: the hostname)")
    .option('--store <spec>', `lease store: local:<dir> (one machine) or etcd:<url>[,<url>…] (default ${DEFAULTS.store})`)
    .option('--etcd-ca <file>', 'etcd: CA certificate (PEM) to verify the servers')
    .option('--etcd-cert <file>', 'etcd: client certificate (PEM)')
    .option('--etcd-key <file>', 'etcd: client key (PEM)')
    .option('--underlay <ifname>', "the link peers reach this node on (default: the default route's link, else the only link up)")
    .option('--underlay-address <ip>', 'find the underlay as the link of the route towards this address')
    .option('--lease-file <path>', `node-local lease file the CNI executables read (default ${DEFAULTS.leaseFile})`)
    .option('--listen <host:port>', `health, metrics and status listener (default ${DEFAULTS.listen}; loopback only unless told)`)
    .addOption(new Option('--log-level <level>', `log level (default ${DEFAULTS.logLevel})`).choices(LOG_LEVELS))
    .addOption(new Option('--log-format <format>', `json for machines, text for people (default ${DEFAULTS.logFormat})`).choices(LOG_FORMATS))
    .option(
      '--cni-socket <path>',
      `serve this node's CNI calls on this unix socket (thick mode; the executables' default is ${DEFAULT_DAEMON_SOCKET}); off unless given`,
    );
}

/** Flags as commander parsed them; commander's camelCase keys are RawOptions' keys. */
function settings(flags: Flags): { options: AgentOptions; log: Logger } {
  const { config, json: _json, release: _release, ...raw } = flags;
  const file = config !== undefined ? readConfigFile(config) : {};
  const options = resolveOptions(file, raw);
  return { options, log: createLogger(options.logLevel, options.logFormat) };
}

export function buildCli(deps: AgentDeps = {}, exit: (code: number) => void = (code) => process.exit(code)): Command {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const program = new Command('podnetd')
    .version(version)
    .description(
      "podnet node agent: holds this node's pod subnet lease, writes the lease file the CNI executables read, programs routes to the other nodes' pod subnets, masquerades pod → outside traffic",
    )
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) })
    .addHelpText(
      'after',
      `
Run \`podnetd run --help\` for the agent's flags (they are also accepted without "run").

Signals: SIGTERM/SIGINT stop the agent and keep routes, nftables rules, the lease file and the
lease, so pods keep talking while it restarts; a restart reuses the node's subnet.
Installs: routes with rtm_protocol 83 (only those are ever changed or removed), nftables tables
"ip podnet" and "ip6 podnet", and the lease file. Docs: apps/agent/README.md.`,
    );

  common(program.command('run', { isDefault: true }).description('run the agent (the default command)'))
    .option('--network-config <file>', 'flannel-style net-conf.json; written to the store when it has none (else the stored one is used)')
    .option('--network-config-overwrite', "replace the store's network config with --network-config")
    .option('--reconcile-period <duration>', `full reconcile (drift repair) every (default ${DEFAULTS.reconcilePeriod})`)
    .option('--lease-ttl <duration>', `lease lifetime, renewed at a third of it (default ${DEFAULTS.leaseTtl})`)
    .option('--masquerade', 'masquerade pod → outside-the-cluster traffic (the default; overrides a config file\'s "masquerade": false)')
    .option('--no-masquerade', 'do not masquerade pod → outside-the-cluster traffic (forward accept stays)')
    .action(async (flags: Flags & { masquerade?: boolean }, cmd: Command) => {
      // commander's --no-masquerade defaults masquerade to true; only an explicit flag counts,
      // so the config file's "masquerade" is not overridden by that default.
      if (cmd.getOptionValueSource('masquerade') !== 'cli') delete flags.masquerade;
      let s;
      try {
        s = settings(flags);
      } catch (error) {
        process.stderr.write(`podnetd: ${(error as Error).message}\n`);
        return exit(2);
      }
      await runAgent(s.options, s.log, deps, exit);
    });

  common(program.command('status').description('ask the running agent (over --listen) for its lease, peers, routes and skipped peers; exit 0 when ready'))
    .option('--json', 'print the raw JSON')
    .action(async (flags: Flags) => {
      try {
        const { options } = settings(flags);
        const status = await fetchStatus(options.listen);
        process.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
        exit(status.ready ? 0 : 1);
      } catch (error) {
        process.stderr.write(`podnetd status: ${(error as Error).message}\n`);
        exit(2);
      }
    });

  common(
    program
      .command('teardown')
      .description("remove what the agent installed: routes of protocol 83, the nftables podnet tables, the backend's devices, the lease file"),
  )
    .option('--release', "also release the node's lease in the store (its subnet goes back to the pool)")
    .action(async (flags: Flags) => {
      let s;
      try {
        s = settings(flags);
      } catch (error) {
        process.stderr.write(`podnetd teardown: ${(error as Error).message}\n`);
        return exit(2);
      }
      const result = await teardown(s.options, s.log, {
        release: flags.release === true,
        ...(deps.backends ? { backends: deps.backends } : {}),
        ...(deps.nft ? { nft: deps.nft } : {}),
        ...(deps.openStore ? { openStore: deps.openStore } : {}),
      });
      exit(result.errors.length > 0 ? 1 : 0);
    });
  program
    .command('serve-cni')
    .description('serve CNI calls only (thick mode without a lease store: a single-node bridge network)')
    .option('--cni-socket <path>', 'the unix socket', DEFAULT_DAEMON_SOCKET)
    .addOption(new Option('--log-level <level>', `log level (default ${DEFAULTS.logLevel})`).choices(LOG_LEVELS))
    .addOption(new Option('--log-format <format>', `json for machines, text for people (default ${DEFAULTS.logFormat})`).choices(LOG_FORMATS))
    .action(async (flags: { cniSocket: string; logLevel?: (typeof LOG_LEVELS)[number]; logFormat?: (typeof LOG_FORMATS)[number] }) => {
      const log = createLogger(flags.logLevel ?? DEFAULTS.logLevel, flags.logFormat ?? DEFAULTS.logFormat);
      let service: CniService;
      try {
        service = await CniService.start({ socket: flags.cniSocket, log });
      } catch (error) {
        log.fatal({ err: error }, `podnetd serve-cni cannot start: ${(error as Error).message}`);
        return exit(1);
      }
      const stop = (signal: NodeJS.Signals): void => {
        log.info({ signal }, 'stopping the CNI service (calls in flight finish)');
        service.close().then(
          () => exit(0),
          () => exit(1),
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  return program;
}

async function runAgent(options: AgentOptions, log: Logger, deps: AgentDeps, exit: (code: number) => void): Promise<void> {
  const agent = new Agent(options, log, deps);
  let cni: CniService | undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      exit(130);
      return;
    }
    stopping = true;
    log.info({ signal }, 'stopping: routes, rules and the lease stay');
    Promise.all([agent.stop(), cni?.close()]).then(
      () => exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'stop failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A long-lived agent outlives a library's stray rejection (a gRPC stream of the store client,
  // say): the data plane is fine, and the services retry by themselves. Said loudly instead.
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection (kept running)'));
  try {
    // Before the agent: CNI calls are answered (host-gw/vxlan: code 11 until the lease file is
    // written) from the moment podnetd runs.
    if (options.cniSocket !== undefined) cni = await CniService.start({ socket: options.cniSocket, log });
    await agent.start();
  } catch (error) {
    if (stopping) return;
    log.fatal({ err: error }, `podnetd cannot start: ${(error as Error).message}`);
    await agent.stop().catch(() => {});
    await cni?.close().catch(() => {});
    exit(1);
  }
}
