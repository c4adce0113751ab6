/** src/sys: the kernel interface (bpf, perf_event_open, mmap, ioctl, poll) through koffi. */
export * from './libc.js';
export * from './errors.js';
export * from './bpf.js';
export * from './perf.js';
export * from './mount.js';
export * from './stdio.js';
