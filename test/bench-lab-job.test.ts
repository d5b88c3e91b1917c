// "The lab's job, like with like", briefly and for real: the lab's Gunicorn
// apps (the lab's own two commands), wasmatrix -w 1 and -w 2 and the plain
// node:http server each answer under wrk, every answer checked, and nothing
// of them is left running afterwards. Needs wrk and Debian's gunicorn,
// python3-flask and python3-numpy (CI installs them); no timing is asserted.

import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GUNICORN, runLabJob } from '../bench/http/lab-job.ts';
import { processTree, readAllStats } from '../bench/http/proc.ts';
import { Reference } from '../bench/http/reference.ts';
import { wrkAvailable } from '../bench/http/wrk.ts';
import { spawnSync } from 'node:child_process';

const flaskPresent = (): boolean => spawnSync('/usr/bin/python3', ['-c', 'import flask, numpy'], { stdio: 'ignore' }).status === 0;
const present = wrkAvailable() && spawnSync(GUNICORN, ['--version'], { stdio: 'ignore' }).status === 0 && flaskPresent();

/** Command lines of our descendants that are servers of the section. */
function leftOver(): string[] {
  return processTree(process.pid, readAllStats())
    .filter((pid) => pid !== process.pid)
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        return '';
      }
    })
    .filter((cmd) => /gunicorn|node-http|cli\/main\.js|wrk/.test(cmd));
}

if (present || process.env.WASMATRIX_REQUIRE_TOOLS === '1') {
  test("every server of the lab's job answers under wrk, checked; the lab's best configuration is picked; nothing is left running", async () => {
    const lines: string[] = [];
    const section = await runLabJob(
      { rounds: 1, seconds: 1, warmup: 1, searchSeconds: 2, connections: 4, timeout: 30, serverArgs: [], shortSearch: true, signal: new AbortController().signal, log: (l) => lines.push(l) },
      new Reference(),
    );
    assert.is(section.problem, null);
    assert.equal(section.lab_search.map((r) => r.config), ['threading -w 1 --threads 4', 'multiprocessing -w 1']);
    const [threads, processes] = section.lab_search;
    assert.ok(threads!.problem === null && threads!.requests_per_sec! > 0, `${threads!.config}: ${threads!.problem}`);
    // 4 processes started per request: on a busy machine none may finish within the run, never a wrong one
    assert.ok((processes!.problem === null && processes!.requests_per_sec! > 0) || processes!.problem === 'no answers', `${processes!.config}: ${processes!.problem}`);
    assert.ok(section.lab_best !== null && section.lab_search.some((r) => r.config === section.lab_best));
    assert.equal(section.contenders.map((c) => c.id), ['wasmatrix-w1', 'wasmatrix-w2', 'lab', 'node-http']);
    for (const c of section.contenders) {
      assert.is(c.problem, null, `${c.label}: ${c.problem}`);
      assert.is(c.runs.length, 1);
      assert.ok(c.median_rps! > 0 && c.runs[0]!.checked > 1 && c.runs[0]!.wrong === 0, c.label);
      assert.ok(c.median_generator_cpu_pct !== null, `${c.label}: wrk's CPU measured`);
    }
    assert.ok(lines.some((l) => l.startsWith('lab job round 1/1: wasmatrix -w 2:')));
    assert.equal(leftOver(), []);
  });
} else {
  test.skip("the lab's job: wrk, gunicorn or python3-flask/numpy not installed (Debian: apt-get install wrk gunicorn python3-flask python3-numpy)", () => {});
}

test.run();
