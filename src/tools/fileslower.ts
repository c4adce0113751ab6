/**
 * fileslower: synchronous file reads and writes slower than a threshold, one line each. BCC traces vfs_read/vfs_write
 * with kprobes; where the kernel has no kprobes the read/write system call tracepoints are used instead, walking the
 * fd through the task's file table to the struct file (same columns; see ALTERNATIVE for what that path misses).
 */
import { sprintf } from '../output/bcc.js';
import { chooseHook, defineTool, Option, positiveInt, Session, UsageError, type KscopeOpts } from './tool.js';

interface Opts extends KscopeOpts {
  pid?: number;
  ebpf?: boolean;
  allFiles?: boolean;
}

const EXAMPLES = `
    ./fileslower             # trace sync file I/O slower than 10 ms (default)
    ./fileslower 1           # trace sync file I/O slower than 1 ms
    ./fileslower -p 185      # trace PID 185 only`;

const ALTERNATIVE =
  'Without kprobes, the read/write system call tracepoints are used: reads and writes that do not go through ' +
  'read/write/pread64/pwrite64/readv/writev/preadv/pwritev(2) are missed (mmap page faults, sendfile, splice, ' +
  'copy_file_range, io_uring, AIO, kernel-internal reads such as exec), and BYTES of vectored calls is the byte count returned.';

/** dentry names longer than this are shown cut, ending in `...` (BCC's DNAME_INLINE_LEN). */
const NAME_MAX = 32;
const EVENT = 'fileslower %d %d %s %d %d %s %d';

/** The kernel side, in kscope's language: `hook` picks kprobes on vfs_read/vfs_write or the syscall tracepoints. */
export function script(o: Opts, minMs: number, hook: 'kprobe' | 'tracepoint'): string {
  const filter = o.pid !== undefined ? ` /pid == ${o.pid}/` : '';
  const regular = o.allFiles ? '' : ' && ($f->f_inode->i_mode & 0xf000) == 0x8000';
  // remember start time, requested size and file of a synchronous I/O on a named (by default regular) file
  const enter = (f: string, size: string, iter: string) =>
    `$f = ${f};
    if ($f != 0 && $f->f_op->${iter} != 0 && $f->f_path.dentry->d_name.len != 0${regular}) { @start[tid] = (nsecs, ${size}, $f); }`;
  const exit = (dir: number, size: string) => `{
  $s = @start[tid];
  if ($s.0 != 0) {
    delete(@start[tid]);
    // unsigned division: kscope divides signed operands with BPF sdiv, which kernels before 6.6 reject
    $us = (uint64)(nsecs - $s.0) / (uint64)1000;
    if ($us >= ${minMs * 1000}) {
      $d = $s.2->f_path.dentry;
      printf("${EVENT}", ${dir}, tid, comm, ${size}, $us, str($d->d_name.name, ${NAME_MAX + 1}), $d->d_name.len);
    }
  }
}`;
  if (hook === 'kprobe')
    return ['read', 'write']
      .map((rw, dir) => `
kprobe:vfs_${rw}${filter} {
  ${enter('(struct file *)arg0', 'arg2', `${rw}_iter`)}
}
kretprobe:vfs_${rw} ${exit(dir, '$s.1')}`)
      .join('\n');
  const tps = (names: string[], kind: 'enter' | 'exit') => names.map((n) => `tracepoint:syscalls:sys_${kind}_${n}`).join(', ');
  return (['read', 'write'] as const)
    .map((rw, dir) => {
      const plain = [rw, `p${rw}64`];
      const vectored = [`${rw}v`, `p${rw}v`, `p${rw}v2`];
      return `
${tps(plain, 'enter')}${filter} {
  $fdt = curtask->files->fdt;
  if (args->fd < $fdt->max_fds) {
    ${enter('$fdt->fd[args->fd]', 'args->count', `${rw}_iter`)}
  }
}
${tps(vectored, 'enter')}${filter} {
  $fdt = curtask->files->fdt;
  if (args->fd < $fdt->max_fds) {
    ${enter('$fdt->fd[args->fd]', '0', `${rw}_iter`)}
  }
}
${tps(plain, 'exit')} ${exit(dir, '$s.1')}
${tps(vectored, 'exit')} ${exit(dir, '(args->ret > 0 ? args->ret : 0)')}`;
    })
    .join('\n');
}

export const fileslower = defineTool<Opts, [number?]>({
  name: 'fileslower',
  summary: 'Trace slow synchronous file reads and writes',
  about: ALTERNATIVE,
  examples: EXAMPLES,
  flags: (cmd) =>
    cmd
      .option('-p, --pid <PID>', 'trace this PID only', positiveInt('pid'))
      .option('-a, --all-files', 'include non-regular file types (sockets, FIFOs, etc)')
      .kscopeFlags('event')
      .addOption(new Option('--ebpf').hideHelp())
      .argument('[min_ms]', 'minimum I/O duration to trace, in ms (default 10)', nonNegativeInt),
  async run(o, io, [minMs = 10]) {
    const hook = chooseHook('fileslower', ['kprobe', 'tracepoint'] as const);
    if (o.ebpf) {
      io.out(script(o, minMs, hook));
      return 0;
    }
    if (o.verbose)
      io.err(`fileslower: hooks: ${hook === 'kprobe' ? 'kprobe+kretprobe vfs_read, vfs_write' : 'tracepoint:syscalls:sys_{enter,exit}_{read,write,pread64,pwrite64,readv,writev,preadv,pwritev,preadv2,pwritev2}'}\n`);
    let start = 0;
    const s = new Session(script(o, minMs, hook), {
      io,
      verbose: o.verbose,
      onStart: () => {
        start = Date.now();
        if (o.json) return;
        io.out(`Tracing sync read/writes slower than ${minMs} ms\n`);
        io.out(sprintf('%-8s %-14s %-6s %1s %-7s %7s %s\n', 'TIME(s)', 'COMM', 'TID', 'D', 'BYTES', 'LAT(ms)', 'FILENAME'));
      },
      onEvent: (format, v) => {
        if (format !== EVENT) return;
        const [dir, tid, comm, bytes, us, rawName, nameLen] = v as [bigint, bigint, string, bigint, bigint, string, bigint];
        const full = Buffer.from(rawName, 'latin1').toString('utf8');
        const name = nameLen > NAME_MAX ? `${full.slice(0, -3)}...` : full;
        const t = (Date.now() - start) / 1000;
        const d = dir === 0n ? 'R' : 'W';
        if (o.json) io.out(JSON.stringify({ time_s: t, comm, tid: Number(tid), dir: d, bytes: Number(bytes), lat_ms: Number(us) / 1000, filename: name }) + '\n');
        else io.out(sprintf('%-8.3f %-14.14s %-6s %1s %-7s %7.2f %s\n', t, comm, tid, d, bytes, Number(us) / 1000, name));
      },
    });
    return s.run();
  },
});

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new UsageError(`invalid min_ms value: '${v}'`);
  return n;
}
