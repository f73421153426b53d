// The in-process IPAM behind `ipam.type: "podnet-ipam"`.
// TODO(integration): replace with core's ipam-plugin handlers once they land.
import { CniError, ErrorCode } from '@podnet/core/cni';
import type { Plugin } from '@podnet/core/cni';

const missing = (): never => {
  throw new CniError(ErrorCode.Internal, 'the built-in podnet-ipam is not linked into this build');
};

export const builtinIpam: Plugin = { add: missing, del: missing, check: missing };
