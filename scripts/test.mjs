// Runs every compiled *.test.js under dist/ (or the folders given) with Node's test runner, one file at a time.
// Node 20's `--test DIR` would also run every .js file under a folder named `test` (helpers, fixtures), and it
// has no glob support, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.js') && !name.endsWith('.vm.test.js')) out.push(p);
  }
  return out;
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['dist']).flatMap((r) => (statSync(r).isDirectory() ? find(r, []) : [r])).sort();
// a hung test (a tool that never prints what the test waits for) fails after 3 minutes instead of hanging CI;
// --test-force-exit then ends its file even if a child process or socket is still open
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=180000', '--test-force-exit', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
