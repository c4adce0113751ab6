/** The built loader (dist/kscope.cjs) as the CLI tests run it. */
import { existsSync, readFileSync } from 'node:fs';

/**
 * The node flags of the loader's shebang: V8 rejects a code cache made under other flags, so a test that runs the
 * loader with plain `node` would leave dist/ a cache the next ./kscope rejects in turn.
 */
export function loaderNodeFlags(loader: string): string[] {
  if (!existsSync(loader)) return [];
  return / node (.*)$/m.exec(readFileSync(loader, 'utf8').split('\n')[0]!)?.[1]?.split(' ') ?? [];
}
