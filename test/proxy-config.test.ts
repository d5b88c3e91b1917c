// A local run uses the shipped proxy configurations with only their tagged
// lines rewritten: every other line is the production file's, and a file
// whose tags drift from what the runs need is refused.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PROXY_KINDS, proxyTimeoutSeconds, readShippedConfig, renderProxyConfig, type ProxySite } from '../bench/cluster/proxy-config.ts';
import { haproxyStats, nginxStats, parseHaproxyStat } from '../bench/cluster/proxy.ts';

const site: ProxySite = {
  listen: { host: '127.0.0.1', port: 18080 },
  hosts: [
    { host: '10.213.7.11', port: 8000 },
    { host: '10.213.7.12', port: 8000 },
  ],
  hostTimeout: 3,
  maxBody: 123456,
  runDir: '/tmp/wasmatrix-run-1-abc',
};

for (const kind of PROXY_KINDS) {
  const shipped = readShippedConfig(kind);
  const rendered = renderProxyConfig(kind, shipped, site);

  test(`${kind}: untagged lines are the shipped file's, in order; no tag is left`, () => {
    const untagged = shipped.split('\n').filter((l) => !/# local: /.test(l));
    const out = rendered.split('\n');
    let at = 0;
    for (const line of untagged) {
      at = out.indexOf(line, at);
      assert.ok(at >= 0, `kept: ${line}`);
      at++;
    }
    assert.not.match(rendered, /# local: /);
  });

  test(`${kind}: the addresses, the wait for a host (--timeout + 5 s), the body limit and the paths are the run's`, () => {
    assert.match(rendered, kind === 'haproxy' ? /bind 127\.0\.0\.1:18080\n/ : /listen 127\.0\.0\.1:18080;/);
    const servers = rendered.split('\n').filter((l) => (kind === 'haproxy' ? /^\s+server host\d/ : /^\s+server 10\./).test(l));
    assert.equal(
      servers.map((l) => /\d+\.\d+\.\d+\.\d+:\d+/.exec(l)?.[0]),
      ['10.213.7.11:8000', '10.213.7.12:8000'],
    );
    if (kind === 'haproxy') assert.equal(servers.map((l) => /server (\S+)/.exec(l)?.[1]), ['host1', 'host2']);
    else for (const l of servers) assert.match(l, 'max_fails=1 fail_timeout=2s', 'the options of the shipped server line are kept');
    assert.is(proxyTimeoutSeconds(3), 8);
    assert.match(rendered, kind === 'haproxy' ? 'timeout server 8s' : 'proxy_read_timeout 8s;');
    const directives = rendered.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    assert.not.match(directives, '35s', 'no shipped wait left');
    assert.not.match(directives, '268435456', 'no shipped body limit left');
    assert.match(rendered, kind === 'haproxy' ? 'gt 123456' : 'client_max_body_size 123456;');
    assert.match(rendered, 'over the limit of 123456 bytes');
    for (const path of directives.match(/(?:^|[\s@])(\/(?:run|var)\/\S*)/gm) ?? []) assert.unreachable(`a path outside the run directory: ${path}`);
    assert.not.match(rendered, /^\s*(user|group) /m, 'a run does not switch users');
  });

  test(`${kind}: a shipped file without a needed tag, or with an unknown one, is refused`, () => {
    assert.throws(() => renderProxyConfig(kind, shipped.replace(/# local: listen/g, ''), site), /no "# local: listen" line/);
    assert.throws(() => renderProxyConfig(kind, `${shipped}\n    maxconn 10  # local: something`, site), /unknown "# local: something" tag/);
  });
}

test('no job deadline (--timeout 0): the proxy waits an hour', () => {
  assert.is(proxyTimeoutSeconds(0), 3600);
});

test('HAProxy stats: host states and sessions, retries and redispatches, 5xx', () => {
  const csv = [
    '# pxname,svname,qcur,scur,req_tot,wretr,wredis,status,hrsp_5xx,',
    'wasmatrix,FRONTEND,,0,120,,,OPEN,3,',
    'http10,upgrade,0,0,,0,0,no check,,',
    'wasmatrix,host1,0,2,,1,4,UP,,',
    'wasmatrix,host2,0,0,,0,0,DOWN 1/2,,',
    'wasmatrix,BACKEND,0,2,,1,4,UP,,',
  ].join('\n');
  assert.equal(haproxyStats(parseHaproxyStat(csv)), { hostState: { host1: 'UP', host2: 'DOWN 1/2' }, hostSessions: { host1: 2, host2: 0 }, requests: 120, retries: 5, responses5xx: 3 });
});

test('nginx access log: requests, the hosts tried beyond the first, 5xx', () => {
  const log = [
    '127.0.0.1 [01/Dec/2026:14:29:01 +0000] "GET /threading HTTP/1.0" 200 261 0.026 upstream=127.0.0.11:41829 upstream_status=200',
    '127.0.0.1 [01/Dec/2026:14:29:02 +0000] "POST /add HTTP/1.1" 413 218 0.001 upstream=- upstream_status=-',
    '127.0.0.1 [01/Dec/2026:14:29:02 +0000] "GET /threading?n=64 HTTP/1.1" 200 157 0.434 upstream=127.0.0.11:41829, 127.0.0.12:8000 upstream_status=502, 200',
    '127.0.0.1 [01/Dec/2026:14:29:02 +0000] "GET /x HTTP/1.1" 502 157 0.4 upstream=127.0.0.12:1, 127.0.0.11:2, wasmatrix upstream_status=502, 502, 502',
    '',
  ].join('\n');
  assert.equal(nginxStats(log), { hostState: {}, hostSessions: {}, requests: 4, retries: 3, responses5xx: 1 });
});

test.run();
