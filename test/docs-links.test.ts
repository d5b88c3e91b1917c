// Every relative link of README.md and docs/*.md leads somewhere: the file
// exists, and a #fragment names one of its headings (as GitHub makes anchors).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../src/paths.ts';
import { docFiles } from '../bench/docs/blocks.ts';

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const outsideCode = markdown.replace(/^```[\s\S]*?^```$/gm, '');
  return new Set([...outsideCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1]!)));
}

test('GitHub anchors', () => {
  assert.is(anchor('Kernels without HTTP: `npm run bench:kernels`'), 'kernels-without-http-npm-run-benchkernels');
  assert.is(anchor('Reading /metrics'), 'reading-metrics');
  assert.is(anchor('The in-flight memory cap'), 'the-in-flight-memory-cap');
});

test('every relative link in the README and docs/ names a file that exists and a heading it has', () => {
  let links = 0;
  for (const file of docFiles(ROOT)) {
    const text = readFileSync(join(ROOT, file), 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue; // http:, https:, mailto:
      links++;
      const [path, fragment] = target.split('#') as [string, string | undefined];
      const resolved = path ? normalize(join(dirname(file), path)) : file;
      assert.ok(existsSync(join(ROOT, resolved)), `${file}: link to ${target}: no file ${resolved}`);
      if (fragment && resolved.endsWith('.md')) {
        assert.ok(anchorsOf(readFileSync(join(ROOT, resolved), 'utf8')).has(fragment), `${file}: link to ${target}: ${resolved} has no heading #${fragment}`);
      }
    }
  }
  assert.ok(links > 20, `only ${links} links checked`);
});

test.run();
