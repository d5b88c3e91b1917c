// Where the project's files are, from src/ (tsx) and dist/src/ (compiled) alike.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`wasmatrix: no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

/** The repository (package) root. */
export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
/** Compiled WebAssembly (npm run asbuild). */
export const BUILD_DIR = join(ROOT, 'build');
/**
 * The web page's files (HTML, CSS, browser JS, icon), beside the running code:
 * src/web under tsx, dist/src/web compiled (ensure-built copies them there: esbuild
 * writes only what it compiles), so a copy of dist/ alone serves the page.
 */
export const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), 'web');
/** True when running the TypeScript sources through tsx rather than compiled dist/. */
export const RUNNING_TS = import.meta.url.endsWith('.ts');

/**
 * The file to start a worker thread from: the compiled .js next to the caller,
 * or under tsx a bootstrap that registers tsx first (Node 20 cannot start a
 * .ts worker even under --import tsx).
 */
export function threadEntry(moduleUrl: string, name: string): { file: string; argv: string[] } {
  if (!RUNNING_TS) return { file: fileURLToPath(new URL(`./${name}.js`, moduleUrl)), argv: [] };
  return { file: join(ROOT, 'src', 'pools', 'tsx-worker-bootstrap.mjs'), argv: [new URL(`./${name}.ts`, moduleUrl).href] };
}

/** The file to fork a child process from, and the node flags it needs. */
export function processEntry(moduleUrl: string, name: string): { file: string; execArgv: string[] } {
  if (!RUNNING_TS) return { file: fileURLToPath(new URL(`./${name}.js`, moduleUrl)), execArgv: [] };
  return { file: fileURLToPath(new URL(`./${name}.ts`, moduleUrl)), execArgv: ['--import', 'tsx'] };
}
