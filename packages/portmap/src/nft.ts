// What this package needs from nftables: a script applied as one transaction, and a JSON list.
// The same shape as @podnet/backend-bridge's `nftBinary()`, which the executables pass in (the
// bridge already runs `nft` for its masquerade; this package does not start processes itself).

export interface NftRunner {
  /** Apply a script as one transaction (`nft -f -`); throws with nft's message when it fails. */
  apply(script: string): Promise<void>;
  /** One `list` command with JSON output; undefined when the object does not exist. */
  listJson(command: string): Promise<unknown | undefined>;
}
