// Messages between the benchmark and its runner inside a node netns (JSON, one per line).

/** One process to start, exactly as a runtime starts a CNI plugin. */
export interface RunnerCall {
  file: string;
  args?: string[];
  /** The whole environment (nothing is inherited). */
  env: Record<string, string>;
  stdin: string;
}

/** Calls started together: one for a sequential step, many for a burst. */
export interface RunnerRequest {
  id: number;
  calls: RunnerCall[];
}

export interface CallTiming {
  code: number;
  signal?: string | undefined;
  /** performance.now() of the runner at spawn and at close. */
  start: number;
  end: number;
  /** end − start, milliseconds. */
  ms: number;
  /** User + system CPU of the process and the children it waited for (runner under Bun only). */
  cpuMs?: number;
  stdout: string;
  stderr: string;
}

export interface RunnerReply {
  id: number;
  /** From the first spawn to the last close, milliseconds. */
  wallMs: number;
  results: CallTiming[];
  /** Set when the request could not be handled at all. */
  error?: string;
}
