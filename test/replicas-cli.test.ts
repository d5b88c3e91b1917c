// `npm run replicas` as a user runs it: it prints the proxy's URL once every
// host is healthy, serves through it (HTTP/1.0 included), and on SIGTERM
// stops everything it started: the hosts, the proxy, its namespaces (as
// root: --netns) and its run directory.

import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canUseNamespaces } from '../bench/cluster/network.ts';
import { ROOT, waitFor } from './fixtures/http-server.ts';
import { labRequest, toolsPresent } from './fixtures/proxies.ts';
import { rawRequest } from './fixtures/raw-http.ts';
import { alive } from './fixtures/server-inspect.ts';

const netns = canUseNamespaces();

if (toolsPresent('npm run replicas', ['haproxy'])) {
  test(`replicas --hosts 2${netns ? ' --netns' : ''}: the URL once healthy, answers through it, and SIGTERM removes everything it started`, async () => {
    const args = ['dist/bench/cluster/replicas-main.js', '--hosts', '2', '--port', '0', ...(netns ? ['--netns'] : [])];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const mine = (): string[] => [
      ...readdirSync(tmpdir()).filter((n) => n.startsWith(`wasmatrix-run-${child.pid}-`)),
      ...(netns ? execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(`wmx-${child.pid}-`)) : []),
    ];
    try {
      const url = await waitFor('the proxy URL on stdout', () => /^(http:\/\/127\.0\.0\.1:\d+)\/$/m.exec(stdout)?.[1] ?? (child.exitCode !== null ? 'exited' : ''), 60_000);
      assert.is.not(url, 'exited', stderr);
      assert.match(stderr, new RegExp(`2 hosts healthy behind haproxy: http://${netns ? '10\\.213\\.' : '127\\.0\\.0\\.11:'}`));
      const { path, checksum } = labRequest(5);
      const res = await rawRequest(url, [`GET ${path} HTTP/1.0\r\nhost: x\r\n\r\n`], { ms: 10_000, awaitClose: false });
      assert.is(res.status, 200, 'HTTP/1.0 through the proxy');
      assert.is((JSON.parse(res.body.toString()) as { checksum: string }).checksum, checksum);
      assert.ok(mine().length > 0, 'the run has its directory (and namespaces)');
      const hostPids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
      child.kill('SIGTERM');
      assert.is(await exited, 0, stderr);
      assert.match(stderr, /SIGTERM: draining the hosts and stopping haproxy/);
      assert.equal(mine(), [], 'no run directory, no namespace left');
      for (const pid of hostPids) assert.not.ok(alive(pid), `process ${pid} it started is gone`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
  test.run();
}
