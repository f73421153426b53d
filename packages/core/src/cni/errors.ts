// CNI error codes (spec §Error) and the error type every podnet layer throws.
// A CniError carries the wire fields directly so the skel prints it unchanged.

export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  InvalidNetns: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimitedConnectivity: 51,
  Internal: 999,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Bounds of an error on the wire: a runtime logs and shows these, so they stay readable. */
const MAX_MSG = 1024;
const MAX_DETAILS = 2048;

/** `text` cut to `max` characters, saying how much was left out. */
export function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

export class CniError extends Error {
  override readonly name = 'CniError';
  constructor(
    readonly code: number,
    /** Short statement of what failed, e.g. `invalid ipam.ranges[0][0].subnet "10.0.0.1/24"`. */
    readonly msg: string,
    /** What was expected or how to fix it; podman prints it after the message. */
    readonly details = '',
    options?: { cause?: unknown },
  ) {
    super(details ? `${msg}: ${details}` : msg, options);
  }

  /** The wire form; msg and details are bounded, whatever a layer put in them. */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    const details = this.details ? bounded(this.details, MAX_DETAILS) : '';
    return { cniVersion, code: this.code, msg: bounded(this.msg, MAX_MSG), ...(details ? { details } : {}) };
  }
}

/**
 * Any thrown value → CniError. Errors from layers that must not import this module (the IPAM is
 * importable alone) carry a numeric `code` and are kept; anything else is internal (999).
 */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const details = (err as { details?: unknown }).details;
    if (typeof code === 'number' && Number.isInteger(code) && code > 0) {
      return new CniError(code, err.message, typeof details === 'string' ? details : '', { cause: err });
    }
    return new CniError(ErrorCode.Internal, err.message, '', { cause: err });
  }
  return new CniError(ErrorCode.Internal, String(err));
}
