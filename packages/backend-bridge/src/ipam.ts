// The IPAM seam: the built-in `podnet-ipam` runs in-process (no second process, no second Node/Bun
// start); any other `ipam.type` is executed from CNI_PATH as the spec's delegate.
import { delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus, execDelegate, toCniError } from '@podnet/core/cni';
import type { CmdArgs, DelegateContext, GcArgs, NetConf, Plugin, Result, StatusArgs } from '@podnet/core/cni';
import { IPAM_TYPE } from '@podnet/core/ipam-plugin';

/** The `ipam.type` served in-process: core's IPAM_TYPE, under the name this package exported first. */
export const BUILTIN_IPAM_TYPE = IPAM_TYPE;

export interface IpamSeam {
  /** The in-process IPAM plugin for BUILTIN_IPAM_TYPE (core's `ipamPlugin`; tests pass a fake). */
  builtin: Plugin;
}

/**
 * One call's IPAM: `type` from the config; `config` is what the IPAM receives (the stdin config,
 * or the one a backend rewrote with `resolveConfig`, e.g. with the node lease subnet).
 */
export class Ipam {
  constructor(
    private readonly seam: IpamSeam,
    readonly type: string,
    private readonly config: NetConf,
    /** True when `config` differs from the stdin bytes: delegates then get `config` re-encoded. */
    private readonly rewritten: boolean,
  ) {}

  get builtin(): boolean {
    return this.type === BUILTIN_IPAM_TYPE;
  }

  /**
   * Allocate. If it fails, DEL is sent before rethrowing (spec: "a delete must still be executed
   * even if the add fails"), so a half-done allocation never survives.
   */
  async add(args: CmdArgs): Promise<Result> {
    try {
      if (this.builtin) return await this.seam.builtin.add(this.#cmd(args));
      return await delegateAdd(this.type, args, this.#options());
    } catch (err) {
      try {
        await this.del(args);
      } catch (delErr) {
        args.log?.warn(`IPAM DEL after failed ADD: ${toCniError(delErr).message}`);
      }
      throw err;
    }
  }

  async del(args: CmdArgs): Promise<void> {
    if (this.builtin) return this.seam.builtin.del(this.#cmd(args));
    return delegateDel(this.type, args, this.#options());
  }

  async check(args: CmdArgs): Promise<void> {
    if (this.builtin) return this.seam.builtin.check(this.#cmd(args));
    return delegateCheck(this.type, args, this.#options());
  }

  /** GC; a delegate older than spec 1.1.0 (no GC) is skipped with a warning. */
  async gc(args: GcArgs): Promise<void> {
    if (this.builtin) return this.seam.builtin.gc?.({ ...args, config: this.config });
    if (!(await this.#delegateHasGcStatus(args))) {
      args.log?.warn(`IPAM "${this.type}" predates CNI 1.1.0 (no GC): its stale allocations stay`);
      return;
    }
    await delegateGc(this.type, args, this.#options());
  }

  /** STATUS; a delegate older than spec 1.1.0 has no STATUS, which the spec reads as ready. */
  async status(args: StatusArgs): Promise<void> {
    if (this.builtin) return this.seam.builtin.status?.({ ...args, config: this.config });
    // The spec: a plugin without STATUS is taken as ready.
    if (!(await this.#delegateHasGcStatus(args))) return;
    await delegateStatus(this.type, args, this.#options());
  }

  /**
   * GC and STATUS exist from spec 1.1.0. A delegate built earlier (Debian's host-local 1.1.1)
   * fails them in ways that cannot be told from a real failure, so ask its VERSION first.
   */
  async #delegateHasGcStatus(ctx: DelegateContext): Promise<boolean> {
    const out = await execDelegate(this.type, 'VERSION', ctx, { config: { cniVersion: '1.1.0' } });
    try {
      const info = JSON.parse(out) as { supportedVersions?: unknown };
      return Array.isArray(info.supportedVersions) && info.supportedVersions.includes('1.1.0');
    } catch {
      return false;
    }
  }

  #cmd(args: CmdArgs): CmdArgs {
    return { ...args, config: this.config };
  }

  #options(): { config?: Record<string, unknown> } {
    return this.rewritten ? { config: this.config } : {};
  }
}
