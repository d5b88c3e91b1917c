// Generated blocks inside Markdown files: everything between
//
//   <!-- figures:NAME -->            and            <!-- /figures:NAME -->
//
// is written by a generator (`npm run docs:figures`), never by hand; a test
// regenerates every block and fails when a file differs. The markers are HTML
// comments, so GitHub shows only the content.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const BLOCK = /<!-- figures:([a-z0-9-]+) -->\n([\s\S]*?)<!-- \/figures:\1 -->/g;
const OPENING = /<!-- figures:([a-z0-9-]+) -->/g;

/** The names of the blocks in `text`, in order; throws on an opening marker without its closing one. */
export function blockNames(text: string): string[] {
  const complete = [...text.matchAll(BLOCK)].map((m) => m[1]!);
  const opened = [...text.matchAll(OPENING)].map((m) => m[1]!);
  if (opened.length !== complete.length) {
    const unclosed = opened.filter((name) => !complete.includes(name));
    throw new Error(`figures block without its closing <!-- /figures:NAME --> (or not on a line of its own): ${unclosed.join(', ')}`);
  }
  return complete;
}

/** `text` with every block's content replaced by `contents[name]`; throws on a block no generator makes. */
export function fillBlocks(text: string, contents: Readonly<Record<string, string>>, file = 'the text'): string {
  blockNames(text);
  return text.replace(BLOCK, (_, name: string) => {
    const content = contents[name];
    if (content === undefined) throw new Error(`${file}: no generator for the block "figures:${name}" (known: ${Object.keys(contents).join(', ')})`);
    return `<!-- figures:${name} -->\n${content.trimEnd()}\n<!-- /figures:${name} -->`;
  });
}

/** `text` without its generated blocks (what is written by hand). */
export function outsideBlocks(text: string): string {
  return text.replace(BLOCK, '');
}

/** The Markdown files that make up the documentation: the README and docs/*.md, relative to `root`. */
export function docFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join('docs', f));
  return ['README.md', ...docs];
}
