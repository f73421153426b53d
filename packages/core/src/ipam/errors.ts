// The IPAM's own error type. It must not import the CNI layer (the IPAM is importable alone), so it
// carries the same two fields the CNI layer's `toCniError` keeps: a numeric CNI `code` and a
// `details` string. `message` is the short statement; `details` says what was expected.

/**
 * CNI error codes the IPAM produces. 2, 5, 7 and 11 are the spec's; codes from 100 up are
 * plugin-specific (the spec reserves 1–99), used where no spec code fits.
 */
export const IpamErrorCode = {
  /** A key the IPAM does not know (the message names it). */
  UnsupportedField: 2,
  /** The store could not be opened, read or written. */
  IoFailure: 5,
  /** Invalid `ipam` section, requested address or owner. */
  InvalidConfig: 7,
  /** The store stayed locked by other processes for the whole wait budget. */
  TryAgainLater: 11,
  /** A requested address is held by another owner. */
  AddressInUse: 100,
  /** A range set has no free address left. */
  RangeExhausted: 101,
  /** CHECK: the owner holds no allocation, or not the expected addresses. */
  NotAllocated: 102,
} as const;

export type IpamErrorCodeValue = (typeof IpamErrorCode)[keyof typeof IpamErrorCode];

export class IpamError extends Error {
  override readonly name = 'IpamError';
  constructor(
    readonly code: IpamErrorCodeValue,
    message: string,
    /** What was expected or how to fix it. */
    readonly details = '',
    options?: { cause?: unknown; damaged?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.damaged = options?.damaged === true;
  }

  /** The store's files are damaged (not busy, not unwritable): the repair is the way out. */
  readonly damaged: boolean;
}

export function invalidConfig(message: string, details = ''): IpamError {
  return new IpamError(IpamErrorCode.InvalidConfig, message, details);
}

/** A value as messages show it: JSON, cut to 60 characters (an error never echoes a huge value). */
export function show(value: unknown): string {
  const v = typeof value === 'string' && value.length > 60 ? value.slice(0, 60) : value;
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? '[…]' : typeof v === 'object' ? '{…}' : String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
