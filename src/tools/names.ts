/**
 * The tools' command names, apart from their code: the loader (scripts/loader.cjs, filled in by bundle.mjs) runs the
 * full bundle for these and the smaller script bundle for everything else. index.ts checks this list is complete.
 */
export const TOOL_NAMES: readonly string[] = [
  'runqlat',
  'execsnoop',
  'biolatency',
  'biosnoop',
  'fileslower',
  'tcpconnect',
  'tcpretrans',
  'tcptop',
  'profile',
  'opensnoop',
  'syscount',
  'tcplife',
];
