// The docs' shell sessions: every ```console block of README.md and docs/*.md
// is a list of commands (`$ ...`, continued on the next line after a trailing
// `\` or `|`), each followed by what it prints. test/docs-examples.test.ts runs
// them in order against a fresh server and compares the output with the docs,
// except the values that change from run to run (maskVolatile);
// `npm run docs:examples` runs them and writes the real output back.

import { execFileSync } from 'node:child_process';

/** The address the docs show; the runner substitutes the test server's. */
export const DOCS_ADDRESS = '127.0.0.1:8000';

export interface Step {
  command: string;
  output: string;
}

export interface Session {
  /** Offsets of the block's content (between the fence lines) in the file. */
  start: number;
  end: number;
  steps: Step[];
}

const FENCE = /^```console\n([\s\S]*?)^```$/gm;

export function parseSessions(text: string): Session[] {
  const sessions: Session[] = [];
  for (const m of text.matchAll(FENCE)) {
    const start = m.index + '```console\n'.length;
    const steps: { command: string; lines: string[] }[] = [];
    let continued = false;
    for (const line of m[1]!.replace(/\n$/, '').split('\n')) {
      const step = steps.at(-1);
      if (continued && step) step.command += `\n${line}`;
      else if (line.startsWith('$ ')) steps.push({ command: line.slice(2), lines: [] });
      else if (step) step.lines.push(line);
      else throw new Error(`a console block must start with a "$ " command line, not: ${line}`);
      // a command goes on after a trailing backslash or pipe
      continued = (continued || line.startsWith('$ ')) && /[\\|]\s*$/.test(line);
    }
    sessions.push({ start, end: start + m[1]!.length, steps: steps.map((s) => ({ command: s.command, output: s.lines.join('\n').replace(/\n+$/, '') })) });
  }
  return sessions;
}

export function renderSession(steps: readonly Step[]): string {
  return steps.map((s) => `$ ${s.command}\n${s.output ? `${s.output}\n` : ''}`).join('');
}

/** `text` with each session's block content replaced by its new steps (same order as parseSessions). */
export function replaceSessions(text: string, sessions: readonly Session[], steps: readonly Step[][]): string {
  let out = text;
  for (let i = sessions.length - 1; i >= 0; i--) out = out.slice(0, sessions[i]!.start) + renderSession(steps[i]!) + out.slice(sessions[i]!.end);
  return out;
}

/**
 * Runs one command with bash in `cwd`, against the server at `address`
 * (host:port) instead of the docs' one; returns what it printed (stdout and
 * stderr, as a terminal shows them), with the docs' address put back.
 */
export function runStep(command: string, address: string, cwd: string): string {
  const shell = command.replaceAll(DOCS_ADDRESS, address);
  let printed: string;
  try {
    printed = execFileSync('bash', ['-c', `${shell} 2>&1`], { cwd, encoding: 'utf8', timeout: 60_000 });
  } catch (e) {
    const err = e as { stdout?: string; status?: number };
    printed = `${err.stdout ?? ''}\n(exit status ${err.status ?? '?'})`;
  }
  return printed.replaceAll('\r', '').replaceAll(address, DOCS_ADDRESS).replace(/\n+$/, '');
}

/** Values that differ between two runs of the same session, replaced by a placeholder for the comparison. */
export function maskVolatile(output: string): string {
  const timed = /execution_time_sec|x-execution-time-sec/i.test(output);
  return output
    .replace(/("execution_time_sec":)[-+.\deE]+/g, '$1<t>')
    .replace(/^(x-execution-time-sec: ).*$/gim, '$1<t>')
    .replace(/^(Date: ).*$/gim, '$1<date>')
    .replace(/^(Content-Length: )\d+$/gim, (line, head: string) => (timed ? `${head}<n>` : line))
    .replace(/^(\w+_sum(\{[^}]*\})?) \S+$/gm, '$1 <sum>');
}

/** The ```python block of `text` whose first line is `firstLine` (a comment naming it), without its fences. */
export function pythonBlock(text: string, firstLine: string, file = 'the text'): string {
  for (const m of text.matchAll(/^```python\n([\s\S]*?)^```$/gm)) if (m[1]!.startsWith(`${firstLine}\n`)) return m[1]!;
  throw new Error(`${file} has no \`\`\`python block starting with "${firstLine}"`);
}
