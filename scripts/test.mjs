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
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
