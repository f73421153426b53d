// A guard in front of JSON.parse for input from the runtime or a delegate: nesting deeper than any
// CNI document needs (a conflist with prevResult and runtimeConfig stays under 10 levels) is a
// decode error, code 6, before any recursive code (the parser, a validator, JSON.stringify of an
// error) can overflow the stack on it and turn it into an internal error.
import { CniError, ErrorCode } from './errors.js';

export const MAX_JSON_DEPTH = 64;

/** Throws code 6 when `text` nests arrays/objects deeper than MAX_JSON_DEPTH. One linear scan. */
export function checkJsonDepth(text: string, what: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new CniError(ErrorCode.DecodeFailure, `${what} nests deeper than ${MAX_JSON_DEPTH} levels`, 'expected a CNI network configuration');
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
}
