import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldedLine, formatFolded } from './folded.js';

test('user frames root first (BCC profile -f example)', () => {
  assert.equal(foldedLine({ comm: 'func_ab', user: ['func_a', 'main', '__libc_start_main', '[unknown]'], count: 11 }), 'func_ab;[unknown];__libc_start_main;main;func_a 11\n');
});

test('kernel-only stacks (offcputime -K -f example)', () => {
  const kernel = ['schedule', 'rwsem_down_read_failed', 'call_rwsem_down_read_failed', 'n_tty_read', 'tty_read', '__vfs_read', 'vfs_read', 'sys_read', 'entry_SYSCALL_64_fastpath'];
  assert.equal(
    foldedLine({ comm: 'bash', kernel, count: 8 }),
    'bash;entry_SYSCALL_64_fastpath;sys_read;vfs_read;__vfs_read;tty_read;n_tty_read;call_rwsem_down_read_failed;rwsem_down_read_failed;schedule 8\n',
  );
});

test('user then kernel part, delimiter, kernel annotations, sorted by count', () => {
  const out = formatFolded([
    { comm: 'dd', user: ['read', 'main'], kernel: ['__clear_user', 'sys_read'], delimiter: true, annotateKernel: true, count: 9n },
    { comm: 'sh', user: ['[Missed User Stack]'], kernel: ['schedule'], count: 2 },
  ]);
  assert.equal(out, 'sh;[Missed User Stack];schedule 2\ndd;main;read;-;sys_read_[k];__clear_user_[k] 9\n');
});
