// Every file in deploy/ is checked by the tool that will read it: HAProxy and
// nginx parse their configurations as shipped, systemd-analyze verifies the
// unit (and is shown to catch a broken one here), the environment file names
// only variables the server reads, and the unit's command with that
// environment starts the server, which a SIGTERM to its whole process group
// (KillMode=control-group) drains to exit 0 well within TimeoutStopSec.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { proxyBinary } from '../bench/cluster/proxy.ts';
import { groupAlive } from '../bench/http/server-process.ts';
import { OPTIONS } from '../src/cli/options.ts';
import { ROOT, waitFor } from './fixtures/http-server.ts';
import { toolsPresent } from './fixtures/proxies.ts';
import { alive } from './fixtures/server-inspect.ts';

const DEPLOY = join(ROOT, 'deploy');
const UNIT = join(DEPLOY, 'wasmatrix.service');
const ENV_FILE = join(DEPLOY, 'wasmatrix.env');
/** Where the unit expects the install; the tests run this checkout instead. */
const INSTALL_DIR = '/opt/wasmatrix';

/** The unit's [Service] settings, KEY -> value (the last one of a repeated key). */
function serviceSettings(text: string): Record<string, string> {
  const section = /\[Service\]([\s\S]*?)(?:\n\[|$)/.exec(text)?.[1] ?? '';
  return Object.fromEntries(section.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** The environment file's assignments, and the names of the ones commented out. */
function envFile(text: string): { set: Record<string, string>; commented: string[]; bad: string[] } {
  const set: Record<string, string> = {};
  const commented: string[] = [];
  const bad: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const m = /^(#)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m?.[1]) commented.push(m[2]!);
    else if (m) set[m[2]!] = m[3]!;
    else if (!line.startsWith('#')) bad.push(line);
  }
  return { set, commented, bad };
}

test('deploy/ holds only files a test here checks', () => {
  assert.equal(readdirSync(DEPLOY).sort(), ['haproxy.cfg', 'nginx.conf', 'wasmatrix.env', 'wasmatrix.service']);
});

if (toolsPresent('HAProxy configuration check', ['haproxy'])) {
  test('deploy/haproxy.cfg as shipped: haproxy -c says it is valid', () => {
    const r = spawnSync(proxyBinary('haproxy')!, ['-c', '-f', join(DEPLOY, 'haproxy.cfg')], { encoding: 'utf8' });
    assert.is(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, 'Configuration file is valid');
    assert.not.match(r.stdout + r.stderr, /\[WARNING\]|\[ALERT\]/, 'and warns about nothing');
  });
}

if (process.getuid?.() === 0 && toolsPresent('nginx configuration check', ['nginx'])) {
  // as shipped, its paths are the system's (/var/log/nginx, /run): only root may open them; the proxy tests run it rewritten for a run
  test('deploy/nginx.conf as shipped: nginx -t says it is valid', () => {
    const r = spawnSync(proxyBinary('nginx')!, ['-t', '-e', 'stderr', '-c', join(DEPLOY, 'nginx.conf')], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stderr, 'test is successful');
    assert.not.match(r.stderr, /\[warn\]|\[emerg\]/, 'and warns about nothing');
  });
}

if (toolsPresent('systemd unit check', ['systemd-analyze'])) {
  const verify = (path: string) => spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });

  test('deploy/wasmatrix.service: systemd-analyze verify finds nothing to say', () => {
    const r = verify(UNIT);
    assert.is(r.status, 0, r.stderr);
    assert.is(`${r.stdout}${r.stderr}`.trim(), '', 'no warning either (systemd-analyze exits 0 on unknown keys and bad values)');
  });

  test('systemd-analyze verify, in this container, catches a broken unit (so the check above means something)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmatrix-unit-'));
    try {
      const broken = join(dir, 'wasmatrix.service');
      const text = readFileSync(UNIT, 'utf8');
      writeFileSync(broken, text.replace(/^KillMode=control-group$/m, 'KillMode=children').replace(/^Type=exec$/m, 'Type=exec\nTimeoutStopSecs=45'));
      const r = verify(broken);
      assert.match(r.stderr, /kill mode/i, r.stderr);
      assert.match(r.stderr, /Unknown key/i, r.stderr);
      writeFileSync(broken, text.replaceAll('/usr/bin/node', '/usr/bin/no-such-node'));
      assert.is(verify(broken).status, 1, 'a missing executable fails it');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('deploy/wasmatrix.env: KEY=VALUE lines of variables the server reads, its drain shorter than the unit\'s stop timeout', () => {
  const env = envFile(readFileSync(ENV_FILE, 'utf8'));
  assert.equal(env.bad, [], 'every line is a comment or KEY=VALUE');
  const known = new Set(OPTIONS.flatMap((o) => o.env));
  for (const key of [...Object.keys(env.set), ...env.commented]) assert.ok(known.has(key), `${key} is one of the server's variables`);
  const unit = serviceSettings(readFileSync(UNIT, 'utf8'));
  const graceful = Number(env.set.WASMATRIX_GRACEFUL_TIMEOUT ?? 30);
  assert.ok(Number(unit.TimeoutStopSec) > graceful + 5, `TimeoutStopSec ${unit.TimeoutStopSec} leaves the drain (${graceful} s) and the pools' close room`);
});

test("the unit's command, with its environment file, serves; SIGTERM to the whole group (KillMode=control-group) drains it to exit 0, nothing of the group left", async () => {
  const unit = serviceSettings(readFileSync(UNIT, 'utf8'));
  assert.is(unit.KillMode, 'control-group');
  assert.is(unit.KillSignal, 'SIGTERM');
  assert.is(unit.Type, 'exec');
  assert.is(unit.WorkingDirectory, INSTALL_DIR);
  assert.is(unit.EnvironmentFile, '/etc/wasmatrix/wasmatrix.env');
  const [command, ...args] = unit.ExecStart!.replaceAll(INSTALL_DIR, ROOT).split(' ');
  assert.is(command, '/usr/bin/node');
  // this machine's node (the unit names Debian's path) and a free port instead of the file's 8000
  const env = { ...process.env, ...envFile(readFileSync(ENV_FILE, 'utf8')).set, PORT: '0', NODE_ENV: 'production' };
  const child = spawn(process.execPath, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const url = await waitFor('the server to listen', () => /listening on (http:\/\/\S+?)\/ /.exec(stdout)?.[1] ?? (child.exitCode !== null ? 'exited' : ''));
    assert.is.not(url, 'exited', stderr);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, "HOST from the environment file");
    const lab = (await (await fetch(`${url}/threading?n=64&seed=3`)).json()) as { status: string };
    assert.is(lab.status, 'ok');
    process.kill(-child.pid!, 'SIGTERM');
    const timeout = Number(unit.TimeoutStopSec) * 1000;
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running at TimeoutStopSec'), timeout).unref())]);
    assert.is(code, 0, stderr);
    assert.match(stderr, /SIGTERM: draining/);
    assert.not.match(stderr, /died and is being replaced/, "the kernel processes ignored the group's SIGTERM");
    await waitFor('every process of the group to be gone', () => !groupAlive(child.pid!));
  } finally {
    if (alive(child.pid!)) process.kill(-child.pid!, 'SIGKILL');
  }
});

test.run();
