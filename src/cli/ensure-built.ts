// `npm start` and `npm test` run this first: it builds what is missing or
// older than its sources (the WebAssembly with asc, the TypeScript with tsc),
// and does nothing when everything is up to date.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../paths.js';

function newest(dir: string, ext: RegExp): number {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) t = Math.max(t, newest(p, ext));
    else if (ext.test(entry.name)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

function oldest(files: string[]): number {
  let t = Infinity;
  for (const f of files) t = Math.min(t, existsSync(f) ? statSync(f).mtimeMs : 0);
  return t;
}

function run(args: string[]): void {
  console.error(`wasmatrix: npm ${args.join(' ')}`);
  execFileSync('npm', args, { cwd: ROOT, stdio: 'inherit' });
}

const wasm = ['wasmatrix.wasm', 'wasmatrix.scalar.wasm', 'wasmatrix.debug.wasm'].map((f) => join(ROOT, 'build', f));
if (oldest(wasm) < Math.max(newest(join(ROOT, 'assembly'), /\.ts$/), statSync(join(ROOT, 'asconfig.json')).mtimeMs)) run(['run', 'asbuild']);

const sources = Math.max(newest(join(ROOT, 'src'), /\.ts$/), newest(join(ROOT, 'bench'), /\.ts$/), statSync(join(ROOT, 'tsconfig.json')).mtimeMs);
if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js')) || newest(join(ROOT, 'dist'), /\.js$/) < sources) {
  run(['exec', '--', 'tsc', '-p', '.']);
}
