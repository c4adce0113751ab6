/**
 * The pseudo file systems kscope needs: tracefs, debugfs and bpffs. Mounted on demand when missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { childProcess } from './builtins.js';
import { KscopeError } from './errors.js';

const MOUNTS = {
  tracefs: { path: '/sys/kernel/tracing', type: 'tracefs', probe: 'available_events' },
  debugfs: { path: '/sys/kernel/debug', type: 'debugfs', probe: '' },
  bpffs: { path: '/sys/fs/bpf', type: 'bpf', probe: '' },
} as const;

function mounted(path: string, type: string): boolean {
  const m = readFileSync('/proc/self/mounts', 'utf8');
  return m.split('\n').some((l) => {
    const f = l.split(' ');
    return f[1] === path && f[2] === type;
  });
}

const done = new Set<string>();

/** Ensures a pseudo file system is mounted; mounts it when missing. Returns its path. */
export function ensureMounted(which: keyof typeof MOUNTS): string {
  const m = MOUNTS[which];
  if (done.has(which)) return m.path;
  if (!mounted(m.path, m.type)) {
    try {
      childProcess().execFileSync('mount', ['-t', m.type, m.type === 'bpf' ? 'bpf' : m.type, m.path], { stdio: 'pipe' });
    } catch (e) {
      const msg = (e as { stderr?: Buffer }).stderr?.toString().trim() || String(e);
      throw new KscopeError(`${which} is not mounted at ${m.path} and mounting it failed: ${msg}`, 'run as root, or mount it: mount -t ' + m.type + ' ' + m.type + ' ' + m.path);
    }
  }
  if (m.probe && !existsSync(`${m.path}/${m.probe}`)) throw new KscopeError(`${which} at ${m.path} looks incomplete (no ${m.probe})`);
  done.add(which);
  return m.path;
}

/** The tracefs root, mounted if needed. */
export function tracefs(): string {
  return ensureMounted('tracefs');
}
