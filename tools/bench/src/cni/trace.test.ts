import { describe, expect, it } from 'vitest';
import { callPhases, largestGaps, parseTrace } from './trace.js';

// Shaped like `strace -f -ttt -T` of a podnet ADD with ipMasq on this machine (shortened):
// the plugin (100), a worker thread (101) doing the store, and an `nft` child (200).
const TRACE = `
100 1000.000000 execve("/x/podnet-bridge", ["/x/podnet-bridge"], 0x7ffd /* 6 vars */) = 0 <0.000200>
100 1000.010000 read(0, "{\\"cniVersion\\":\\"1.0.0\\"}", 262144) = 24 <0.000010>
100 1000.011000 sendto(5, [{nlmsg_len=52}], 52, 0, NULL, 0) = 52 <0.001000>
100 1000.012000 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, child_tid=0x7f}, 88) = 101 <0.000050>
101 1000.013000 mkdir("/tmp/d/net", 0700) = -1 EEXIST (File exists) <0.000020>
101 1000.014000 fdatasync(8 <unfinished ...>
100 1000.014500 recvfrom(5, [{nlmsg_len=36}], 65536, 0, NULL, NULL) = 36 <0.000500>
101 1000.016000 <... fdatasync resumed>) = 0 <0.002000>
101 1000.018000 openat(AT_FDCWD, "/tmp/d/net/LOCK", O_RDWR|O_CREAT, 0644) = 9 <0.000010>
101 1000.019000 fcntl(9, F_SETLK, {l_type=F_UNLCK, l_whence=SEEK_SET, l_start=0, l_len=0}) = 0 <0.000010>
100 1000.020000 clone3({flags=CLONE_VM|CLONE_VFORK|CLONE_CLEAR_SIGHAND, exit_signal=SIGCHLD, stack=0x7f, stack_size=0x9000}, 88) = 200 <0.000300>
200 1000.020100 execve("/usr/sbin/nft", ["/usr/sbin/nft", "-f", "-"], 0x7f /* 1 var */) = 0 <0.000200>
200 1000.025000 sendmsg(3, {msg_name={sa_family=AF_NETLINK}}, 0) = 500 <0.001000>
200 1000.027000 +++ exited with 0 +++
100 1000.028000 write(1, "{\\n \\"cniVersion\\"", 486) = 486 <0.000050>
100 1000.028100 exit_group(0) = ?
101 1000.028500 +++ exited with 0 +++
100 1000.029000 +++ exited with 0 +++
`;

describe('strace phases', () => {
  it('joins split calls and maps threads and child processes', () => {
    const t = parseTrace(TRACE);
    const sync = t.events.find((e) => e.name === 'fdatasync');
    expect(sync).toMatchObject({ tid: 101, ts: 1000.014, dur: 0.002, ret: 0 });
    expect(t.exits.get(200)).toBe(1000.027);
  });

  it('splits a call into start, store, syncs, netlink, children, exit and the rest', () => {
    const p = callPhases(parseTrace(TRACE), '/tmp/d');
    const close = (v: number) => expect.closeTo(v, 6);
    expect(p).toEqual({
      totalMs: close(29),
      startMs: close(10),
      storeMs: close(6.01), // 13.000 → the lock release at 19.010
      syncMs: close(2),
      netlinkMs: close(1.5), // the nft child's sendmsg is its own, not the plugin's
      children: [{ program: 'nft', ms: close(6.9) }],
      exitMs: close(1),
      otherMs: close(29 - 10 - 6.01 - 1.5 - 6.9 - 1),
    });
  });

  it('says what is missing when the trace has no execve', () => {
    expect(() => callPhases(parseTrace('100 1.0 read(0, "", 1) = 0 <0.1>'), '/d')).toThrow(/no execve/);
  });
});

describe('largest gaps', () => {
  it('lists idle stretches of the plugin after the config read, children counting as busy', () => {
    const gaps = largestGaps(parseTrace(TRACE), 2);
    // 16.000 → 18.000 (the store thread after its sync) and 27.000 → 28.000 (nft exited → result).
    expect(gaps.map((g) => Math.round(g.ms * 100) / 100)).toEqual([2, 1]);
    expect(gaps[0]).toMatchObject({ after: expect.stringMatching(/^fdatasync\(8/), before: expect.stringMatching(/^openat\(/) });
    expect(gaps[1]).toMatchObject({ after: 'child nft', before: expect.stringMatching(/^write\(1,/) });
  });
});
