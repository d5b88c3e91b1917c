// `npm start` and `npm test` run this first: it builds what is missing or
// older than its sources, and does nothing when everything is up to date:
// - the WebAssembly kernels with asc (AssemblyScript, a dependency);
// - the TypeScript of src/ and bench/ into dist/ with esbuild (a dependency),
//   file by file (no bundling: dist/ has the layout of the sources, which the
//   worker entry points rely on);
// - the web page's files, copied from src/web to dist/src/web, beside the
//   compiled server that reads them (src/paths.ts WEB_DIR; esbuild, like tsc,
//   writes only what it compiles): copied whenever a file differs.
// Both tools are dependencies, so a production install (`npm ci --omit=dev`)
// can build and start. Type checking is separate: `npm run typecheck` (tsc,
// a dev dependency), which `npm test` runs before the tests.
// `--force` rebuilds everything (npm run build).

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from '../paths.js';

const force = process.argv.includes('--force');

function files(dir: string, ext: RegExp): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) return files(p, ext);
    return ext.test(entry.name) ? [p] : [];
  });
}

const newest = (paths: string[]): number => Math.max(0, ...paths.map((p) => statSync(p).mtimeMs));
const oldest = (paths: string[]): number => Math.min(...paths.map((p) => (existsSync(p) ? statSync(p).mtimeMs : 0)));

const wasm = ['wasmatrix.wasm', 'wasmatrix.scalar.wasm', 'wasmatrix.debug.wasm'].map((f) => join(ROOT, 'build', f));
const kernelSources = [...files(join(ROOT, 'assembly'), /\.ts$/), join(ROOT, 'asconfig.json')];
if (force || oldest(wasm) < newest(kernelSources)) {
  console.error('wasmatrix: npm run asbuild');
  execFileSync('npm', ['run', 'asbuild'], { cwd: ROOT, stdio: 'inherit' });
}

const sources = ['src', 'bench'].flatMap((d) => files(join(ROOT, d), /(?<!\.d)\.ts$/));
const outputs = sources.map((s) => join(ROOT, 'dist', relative(ROOT, s)).replace(/\.ts$/, '.js'));
if (force || oldest(outputs) < newest([...sources, join(ROOT, 'package.json')])) {
  console.error(`wasmatrix: esbuild ${sources.length} files into dist/`);
  if (force) rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
  await build({
    entryPoints: sources,
    outdir: join(ROOT, 'dist'),
    outbase: ROOT,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
}

// a handful of small files: compared whole
const webSource = join(ROOT, 'src', 'web');
const webCopy = join(ROOT, 'dist', 'src', 'web');
const same = (f: string): boolean => existsSync(join(webCopy, f)) && readFileSync(join(webCopy, f)).equals(readFileSync(join(webSource, f)));
if (force || !readdirSync(webSource).every(same)) {
  console.error('wasmatrix: copying src/web to dist/src/web');
  cpSync(webSource, webCopy, { recursive: true });
}
