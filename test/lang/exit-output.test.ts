/**
 * exit() in an event probe: what the probe printed reaches the output before the probes are detached. Detaching
 * waits for an RCU grace period (~30 ms here), and a one-liner's first output used to wait for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import { compile, Runtime } from '../../src/index.js';

/** perf event fds this process holds: one per attached tracepoint. */
function perfEventFds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[perf_event]') n++;
    } catch {
      // closed meanwhile (readdir's own fd)
    }
  }
  return n;
}

test('exit() in a tracepoint probe: its printf is written while the probe is still attached', async () => {
  const before = perfEventFds();
  const writes: { text: string; attached: number }[] = [];
  let opener: NodeJS.Timeout | undefined;
  const script = `tracepoint:syscalls:sys_enter_openat /pid == ${process.pid}/ { printf("opened by %d\\n", pid); exit(); }`;
  const rt = new Runtime(compile(script, { name: 'exit-output' }), {
    out: (s) => writes.push({ text: s, attached: perfEventFds() - before }),
    err: () => undefined,
    quiet: true,
    onAttached: () => (opener = setInterval(() => closeSync(openSync('/etc/hostname', 'r')), 5)),
  });
  const code = await rt.run();
  clearInterval(opener);
  assert.equal(code, 0);
  assert.ok(writes.length > 0, 'no output');
  assert.equal(writes[0]!.text, `opened by ${process.pid}\n`);
  assert.equal(writes[0]!.attached, 1, 'the output came after the tracepoint was detached');
  assert.equal(perfEventFds(), before, 'detached at the end');
});
