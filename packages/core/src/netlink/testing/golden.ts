// Golden-byte helpers shared by the codec tests. Fixtures in ../testdata/*.hex are hex dumps of
// messages captured from iproute2 / the kernel (each file's `#` header says how); `#` lines and
// whitespace are ignored.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { NLM_F_ACK, NLM_F_REQUEST } from '../constants.js';
import { encodeMessage } from '../message.js';
import type { NlRequest } from '../message.js';

export function fixture(name: string): Buffer {
  const text = readFileSync(new URL(`../testdata/${name}.hex`, import.meta.url), 'utf8');
  return Buffer.from(text.replace(/^#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

/** Our request, encoded with the captured sequence number, equals iproute2's bytes exactly. */
export function expectSameAsIproute2(req: NlRequest, name: string): void {
  const want = fixture(name);
  const ours = encodeMessage({ ...req, flags: req.flags | NLM_F_REQUEST | NLM_F_ACK }, want.readUInt32LE(8));
  expect(ours.toString('hex')).toBe(want.toString('hex'));
}
