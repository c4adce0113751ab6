import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('kscope mounts tracefs itself when it is missing (in a private mount namespace)', (t) => {
  // unshare gives the child its own copy of the mount table: unmounting there leaves the machine untouched
  const script = `umount -l /sys/kernel/tracing 2>/dev/null; umount -l /sys/kernel/debug/tracing 2>/dev/null;
    if [ -e /sys/kernel/tracing/available_events ]; then echo STILL-MOUNTED; exit 3; fi
    exec "${process.execPath}" "${cli}" -l 'tracepoint:sched:sched_switch'`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8' });
  if (r.error || /unshare failed|Operation not permitted/.test(r.stderr)) return t.skip(`cannot make a mount namespace here: ${r.error?.message ?? r.stderr.trim()}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'tracepoint:sched:sched_switch');
});
