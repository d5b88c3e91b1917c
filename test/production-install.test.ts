// A deployment (a container image, a systemd host) installs without dev
// dependencies and starts: `npm ci --omit=dev && npm start` on a copy of the
// project as a clone holds it. Nothing the start needs may be a dev
// dependency, and the install prints no install-script approval warnings.

import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, waitFor } from './fixtures/http-server.ts';

/** The project's files as a clone holds them: tracked and new, not ignored (so uncommitted work is tested too). */
function copyProject(to: string): void {
  const list = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT }).toString().split('\0').filter(Boolean);
  for (const file of list) {
    if (!existsSync(join(ROOT, file))) continue; // deleted in the working tree
    cpSync(join(ROOT, file), join(to, file), { recursive: false, force: true, errorOnExist: false, preserveTimestamps: false });
  }
}

test('npm ci --omit=dev && npm start builds, serves, and drains on SIGTERM; npm run worker runs there too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmatrix-production-'));
  try {
    copyProject(dir);
    const install = execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.not.match(install, /install-scripts/, 'no install-script approval warnings');
    assert.not.ok(existsSync(join(dir, 'node_modules', 'typescript')), 'dev dependencies are left out');
    // its own process group, signalled as a whole, as systemd (KillMode=control-group) or a terminal would
    const child = spawn('npm', ['start', '--', '-b', '127.0.0.1:0', '--threads', '1', '--processes', '1'], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      const url = await waitFor('the server to listen', () => /listening on (http:\/\/\S+?)\/ /.exec(stdout)?.[1] ?? (child.exitCode !== null ? 'exited' : ''), 120000);
      assert.is.not(url, 'exited', `npm start failed: ${stderr}`);
      assert.is((await fetch(`${url}/healthz`)).status, 200);
      const lab = (await (await fetch(`${url}/threading?n=64&seed=7`)).json()) as { status: string; checksum: string };
      assert.is(lab.status, 'ok');
      assert.match(lab.checksum, /^[0-9a-f]{8}$/);
      process.kill(-child.pid!, 'SIGTERM');
      // npm waits for the server, then re-raises the signal on itself (a clean stop for systemd)
      const end = await exited;
      assert.ok(end.code === 0 || end.signal === 'SIGTERM', `npm start ended with ${JSON.stringify(end)}; stderr: ${stderr}`);
      assert.match(stderr, /SIGTERM: draining/);
      assert.match(stderr, /\[INFO\] stopped/, 'the server drained and stopped by itself');
      assert.not.match(stderr, /again: exiting now/, 'one group signal is one signal');
      // the cluster's worker host loads its NATS clients from the production install
      const workerHelp = execFileSync('npm', ['run', '--silent', 'worker', '--', '--help'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.match(workerHelp, /A worker host of the cluster mode/);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
