// What the benchmark's entry points share: their command line (a usage error
// exits 2, --help prints the usage, reports quote it) and Ctrl-C (the first one stops the run
// and lets the server drain, a second one kills the server at once).

import { BenchUsageError } from './options.js';
import type { Progress } from './progress.js';
import type { ServerProcess } from './server-process.js';

/** How to run it again, for reports: "npm run <script> -- <args>", shell-quoted. */
export function commandLine(script: string, argv: string[]): string {
  const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);
  return [`npm run ${script}`, ...(argv.length ? ['--', ...argv.map(quote)] : [])].join(' ');
}

/** The parsed options, or undefined after printing the usage for --help; exits 2 on a usage error. */
export function parseOrExit<T extends { help: boolean }>(name: string, usage: string, parse: (argv: string[]) => T, argv: string[]): T | undefined {
  let options: T;
  try {
    options = parse(argv);
  } catch (e) {
    if (!(e instanceof BenchUsageError)) throw e;
    process.stderr.write(`${name}: ${e.message}\n\n${usage}\n`);
    process.exit(2);
  }
  if (!options.help) return options;
  process.stdout.write(`${usage}\n`);
  return undefined;
}

/** The first Ctrl-C aborts `controller`; the second kills the server and exits 130. On any exit, a server still running is killed. */
export function interruptOnCtrlC(controller: AbortController, server: () => ServerProcess | undefined, progress: Progress, stopping: string): void {
  process.on('SIGINT', () => {
    if (controller.signal.aborted) {
      // a second Ctrl-C: stop waiting for the drain
      server()?.killNow();
      process.exit(130);
    }
    progress.log(`\nCtrl-C: stopping ${stopping} and the server (Ctrl-C again to force)`);
    controller.abort();
  });
  // last resort if the process ends any other way while the server runs
  process.on('exit', () => {
    const s = server();
    if (s?.alive) s.killNow();
  });
}
