import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Table, linearHist, log2Hist, sectionedHist, sprintf, stackBlock, timeLine } from './bcc.js';

process.env.TZ = 'UTC';

test('log2 histogram: runqlat example rows (max 810 in slot 4)', () => {
  assert.equal(log2Hist([0, 233, 742, 203, 810], 'usecs'), `     usecs               : count     distribution
         0 -> 1          : 233      |***********                             |
         2 -> 3          : 742      |************************************    |
         4 -> 7          : 203      |**********                              |
         8 -> 15         : 810      |****************************************|
`);
  assert.equal(log2Hist([0, 3818, 39], 'msecs'), `     msecs               : count     distribution
         0 -> 1          : 3818     |****************************************|
         2 -> 3          : 39       |                                        |
`);
});

test('log2 histogram: leading and interior zero rows, empty table prints nothing', () => {
  assert.equal(log2Hist([0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 14n], 'usecs'), `     usecs               : count     distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 0        |                                        |
         4 -> 7          : 0        |                                        |
         8 -> 15         : 0        |                                        |
        16 -> 31         : 0        |                                        |
        32 -> 63         : 0        |                                        |
        64 -> 127        : 4        |***********                             |
       128 -> 255        : 0        |                                        |
       256 -> 511        : 0        |                                        |
       512 -> 1023       : 14       |****************************************|
`);
  assert.equal(log2Hist([0, 0, 0], 'usecs'), '');
  assert.equal(log2Hist([], 'usecs'), '');
});

test('log2 histogram: wide layout once a value needs more than 32 bits', () => {
  const vals = new Array<number>(35).fill(0);
  vals[1] = 2;
  vals[34] = 1;
  const lines = log2Hist(vals, 'nsecs').split('\n');
  assert.equal(lines.length, 36); // header + 34 rows + final ''
  assert.equal(lines[0], '               nsecs                         : count     distribution');
  assert.equal(lines[1], '                   0 -> 1                    : 2        |********************|');
  assert.equal(lines[2], '                   2 -> 3                    : 0        |                    |');
  assert.equal(lines[34], '          8589934592 -> 17179869183          : 1        |**********          |');
});

test('linear histogram (runqlen) and sections', () => {
  assert.equal(linearHist([1068, 642], 'runqlen'), `     runqlen       : count     distribution
        0          : 1068     |****************************************|
        1          : 642      |************************                |
`);
  assert.equal(linearHist([0, 0, 5], 'runqlen'), `     runqlen       : count     distribution
        0          : 0        |                                        |
        1          : 0        |                                        |
        2          : 5        |****************************************|
`);
  assert.equal(sectionedHist([{ label: 'sda', vals: [0, 1] }, { label: 'vda', vals: [0, 0, 2] }], 'disk', 'usecs'), `
disk = sda
     usecs               : count     distribution
         0 -> 1          : 1        |****************************************|

disk = vda
     usecs               : count     distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 2        |****************************************|
`);
  assert.equal(sectionedHist([{ label: '0', vals: [3] }], 'cpu', 'runqlen', true), `
cpu = 0
     runqlen       : count     distribution
        0          : 3        |****************************************|
`);
});

test('Python % formatting: integers', () => {
  assert.equal(sprintf('%d|%5d|%-5d|%05d|%+d|% d', 42, 42, 42, -42, 5, 5), '42|   42|42   |-0042|+5| 5');
  assert.equal(sprintf('%x|%X|%#x|%#o|%o|%x', 255, 255, 255, 8, 8, -255), 'ff|FF|0xff|0o10|10|-ff');
  assert.equal(sprintf('%5.3d|%-*d|%*d', 7, 4, 1, 3, 2), '  007|1   |  2');
  assert.equal(sprintf('%d %d', 18446744073709551615n, 3.9), '18446744073709551615 3');
  assert.equal(sprintf('%c%c|%%|%s', 72, 'i', 'x'), 'Hi|%|x');
  assert.throws(() => sprintf('%d', 'x'), TypeError);
  assert.throws(() => sprintf('%d %d', 1), TypeError);
});

test('Python % formatting: strings and floats', () => {
  assert.equal(sprintf('%-16s|%7s|%.2s|%-14.14s|%05s', 'bash', 'ab', 'abcdef', 'kworker/u4:2-events_unbound', 'ab'), 'bash            |     ab|ab|kworker/u4:2-e|   ab');
  assert.equal(sprintf('%-8.3f|%7.2f|%-11.6f|%.1f', 2.849, 0.745, 0.000004, -0.05), '2.849   |   0.74|0.000004   |-0.1');
  assert.equal(sprintf('%.0f %.0f %.2f %.1f %f', 2.5, 3.5, 0.125, 0.25, 1.5), '2 4 0.12 0.2 1.500000');
  assert.equal(sprintf('%e|%.2E|%g|%g|%g|%g|%#g', 12345.678, 0.000123, 0.0001, 1234567, 100, 2.5, 2.5), '1.234568e+04|1.23E-04|0.0001|1.23457e+06|100|2.5|2.50000');
  assert.equal(sprintf('%08.2f|%+.1f', -3.14159, 2), '-0003.14|+2.0');
});

test('tables: libbpf execsnoop verbatim and BCC biosnoop layout', () => {
  const exec = new Table([
    { title: 'PCOMM', head: '%-16s ' },
    { title: 'PID', head: '%-6s ', cell: '%-6d ' },
    { title: 'PPID', head: '%-6s ', cell: '%-6d ' },
    { title: 'RET', head: '%3s ', cell: '%3d ' },
    { title: 'ARGS', head: '%s' },
  ]);
  assert.equal(exec.header(), 'PCOMM            PID    PPID   RET ARGS\n');
  assert.equal(exec.row(['ls', 13937, 13936, 0, '/usr/bin/ls /']), 'ls               13937  13936    0 /usr/bin/ls /\n');
  assert.equal(exec.row(['bash', 13940, 13936, -2, '/nonexistent_cmd']), 'bash             13940  13936   -2 /nonexistent_cmd\n');
  const bio = new Table([
    { title: 'TIME(s)', head: '%-11s ', cell: '%-11.6f ' },
    { title: 'COMM', head: '%-14s ', cell: '%-14.14s ' },
    { title: 'PID', head: '%-7s ' },
    { title: 'DISK', head: '%-9s ' },
    { title: 'T', head: '%-1s ' },
    { title: 'SECTOR', head: '%-10s ' },
    { title: 'BYTES', head: '%-7s' },
    { title: 'LAT(ms)', head: '%7s', cell: '%7.2f' },
  ]);
  assert.equal(bio.header(), 'TIME(s)     COMM           PID     DISK      T SECTOR     BYTES  LAT(ms)\n');
  assert.equal(bio.row([0.000004, 'supervise', 1950, 'xvda1', 'W', 13092560, 4096, 0.74]), '0.000004    supervise      1950    xvda1     W 13092560   4096      0.74\n');
});

test('time line and profile stack block', () => {
  assert.equal(timeLine(new Date(Date.UTC(2026, 10, 25, 9, 5, 7))), '09:05:07\n');
  const block = stackBlock({
    kernel: ['__clear_user', 'iov_iter_zero', 'read_iter_zero', '__vfs_read', 'vfs_read', 'sys_read', 'entry_SYSCALL_64_fastpath'],
    user: ['read'], delimiter: false, comm: 'dd', pid: 25036, count: 4,
  });
  assert.equal(block, `    __clear_user
    iov_iter_zero
    read_iter_zero
    __vfs_read
    vfs_read
    sys_read
    entry_SYSCALL_64_fastpath
    read
    -                dd (25036)
        4

`);
  assert.equal(stackBlock({ kernel: ['schedule'], user: ['main'], delimiter: true, comm: 'sleep', pid: 7, count: 1983973n }), `    schedule
    --
    main
    -                sleep (7)
        1983973

`);
});
