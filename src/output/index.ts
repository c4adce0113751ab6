/** Output formats: the value model, bpftrace text and JSON output, BCC tables/histograms and folded stacks. */
export * from './values.js';
export * from './strftime.js';
export * from './bpftrace.js';
export * from './json.js';
export * from './bcc.js';
export * from './folded.js';
