// The shipped front-proxy configurations, run for real (deploy/haproxy.cfg on
// HAProxy 2.6, deploy/nginx.conf on nginx 1.22) in front of two hosts of the
// production server on 127.0.0.x: HTTP/1.0 clients (the lab's own `ab -n 200
// -c 20`) get every answer, a body the hosts would refuse or drop is answered
// 413 by the proxy, a host killed mid-request has its requests (GET and POST)
// answered by the other host, a draining host is taken out, and the hosts'
// own 504 at --timeout reaches the client.

import { request } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isDown, isUp, Replicas } from '../bench/cluster/replicas.ts';
import { PROXY_KINDS, type ProxyKind } from '../bench/cluster/proxy-config.ts';
import { waitFor } from './fixtures/http-server.ts';
import { apacheBench, labRequest, toolsPresent, uploadRequest } from './fixtures/proxies.ts';
import { assertProblem, rawHttp, rawRequest } from './fixtures/raw-http.ts';

const MAX_BODY = 1_000_000;
const HOST_ARGS = ['--threads', '1', '--processes', '1', '--max-body', String(MAX_BODY)];

type Host = Replicas['hosts'][number];

/** Requests `hosts` (default: all) have answered on a route with `status`, together. */
async function served(r: Replicas, route: string, status = '200', hosts: Host[] = r.hosts): Promise<number> {
  let sum = 0;
  for (const h of hosts) sum += await h.answered({ route, status });
  return sum;
}

/** Until the proxy sends requests to host `index` again: HAProxy's check says UP; nginx (passive) has sent it a probe. */
async function waitUntilRouted(r: Replicas, index: number): Promise<void> {
  if (r.proxy.kind === 'haproxy') return r.waitForHost(index, 'UP', isUp);
  const host = r.hosts[index - 1]!;
  const probes = (): Promise<number> => served(r, '/healthz', '200', [host]);
  const before = await probes(); // the host's own readiness check counts too
  await waitFor(`nginx to send a request to ${host.name} again`, async () => {
    await fetch(`${r.url}/healthz`).then((res) => res.arrayBuffer());
    return (await probes()) > before;
  });
}

/** A POST on a new connection (no keep-alive pool), resolved with the whole answer; status 0 if the connection closed without one. */
function postOnNewConnection(url: string, type: string, body: Buffer): Promise<{ status: number; type: string | null; body: Buffer }> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent: false, headers: { 'content-type': type, 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? null, body: Buffer.concat(chunks) }));
    });
    req.on('error', (e) => resolve({ status: 0, type: null, body: Buffer.from(e.message) }));
    req.end(body);
  });
}

interface Answer {
  status: number;
  /** The body, for messages; {} when it is not JSON (a proxy's own error page). */
  text: string;
  body: { checksum?: string; result?: number[][] };
}

/** Status and body of an answer (never rejects: status 0 for a failed request). */
async function answerOf(response: Promise<Response>): Promise<Answer> {
  try {
    const res = await response;
    const text = await res.text();
    let body: Answer['body'] = {};
    try {
      body = JSON.parse(text) as Answer['body'];
    } catch {
      // a proxy's error page
    }
    return { status: res.status, text: text.slice(0, 200), body };
  } catch (e) {
    return { status: 0, text: (e as Error).message, body: {} };
  }
}

function proxySuite(kind: ProxyKind): void {
  const s = suite(`front proxy: ${kind}`);
  let r: Replicas;

  s.before(async () => {
    r = await Replicas.start({ hosts: 2, proxy: kind, port: 0, netns: false, serverArgs: HOST_ARGS, testHooks: true, graceSeconds: 15 });
  });
  s.after(async () => {
    await r?.stop();
  });

  s(`${kind}: the lab's own ab -n 200 -c 20 (HTTP/1.0) gets 200 for every request, answered by the hosts`, async () => {
    const before = await served(r, '/threading');
    const ab = await apacheBench(`${r.url}/threading`, 200, 20);
    assert.is(ab.complete, 200, ab.output);
    assert.is(ab.realFailures, 0, `only "Length" failures (answers of varying length): ${ab.output}`);
    assert.is(ab.non2xx, 0, ab.output);
    assert.is((await served(r, '/threading')) - before, 200, 'the hosts answered all 200 with 200');
  });

  s(`${kind}: an HTTP/1.0 request gets the right answer`, async () => {
    const { path, checksum } = labRequest(7);
    const res = await rawRequest(r.url, [`GET ${path} HTTP/1.0\r\nhost: wasmatrix.test\r\n\r\n`], { ms: 10_000 });
    assert.is(res.status, 200);
    assert.is((JSON.parse(res.body.toString()) as { checksum: string }).checksum, checksum);
  });

  s(`${kind}: a body over --max-body, and a content-length of 10 digits, are answered 413 by the proxy; no host sees them`, async () => {
    const before = await served(r, '/add', '413');
    for (const length of [MAX_BODY + 1, 9_999_999_999, 99_999_999_999_999]) {
      const res = await rawRequest(r.url, [`POST /add HTTP/1.1\r\nhost: wasmatrix.test\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n{"a": [[1]]`], { ms: 10_000, awaitClose: false });
      const body = res.body.toString();
      assert.is(res.status, 413, `content-length ${length}: ${body}`);
      assert.is(res.headers['content-type'], 'application/problem+json');
      const problem = JSON.parse(body) as { code: string; detail: string };
      assert.is(problem.code, 'BODY_TOO_LARGE');
      assert.match(problem.detail, String(MAX_BODY), 'the limit in the answer is the hosts\' --max-body');
    }
    assert.is(await served(r, '/add', '413'), before, 'no host answered (or saw) any of them');
    const ok = uploadRequest(1);
    const res = await fetch(`${r.url}${ok.path}`, ok.init);
    assert.is(res.status, 200, 'a body under the limit goes through');
  });

  s(`${kind}: a host killed mid-request (its whole process group): its in-flight GET and POST /add are answered right by the other host`, async () => {
    const [host1, host2] = r.hosts as [Host, Host];
    await host1.server!.hold();
    await host2.server!.hold();
    // requests one at a time, each held where the proxy sent it, until host1 holds a GET and a POST
    const answers: { promise: Promise<Answer>; checksum: string; result?: number[][]; on: Host }[] = [];
    const onHost1 = { GET: 0, POST: 0 };
    for (let i = 0; onHost1.GET === 0 || onHost1.POST === 0; i++) {
      if (i === 12) throw new Error(`12 requests and host1 holds ${onHost1.GET} GET and ${onHost1.POST} POST`);
      const before = await host1.heldJobs();
      const total = answers.length;
      const method = i % 4 < 2 ? 'GET' : 'POST';
      const upload = uploadRequest(60 + i);
      const get = labRequest(60 + i);
      const promise = method === 'GET' ? answerOf(fetch(`${r.url}${get.path}`)) : answerOf(fetch(`${r.url}${upload.path}`, upload.init));
      await waitFor(`request ${i + 1} to be held`, async () => (await host1.heldJobs()) + (await host2.heldJobs()) === total + 1);
      const on = (await host1.heldJobs()) > before ? host1 : host2;
      if (on === host1) onHost1[method]++;
      answers.push(method === 'GET' ? { promise, checksum: get.checksum, on } : { promise, checksum: upload.checksum, result: upload.result, on });
    }
    await host2.server!.release();
    const retriesBefore = (await r.proxy.stats()).retries;
    const inFlightOnHost1 = answers.filter((a) => a.on === host1).length;
    await host1.kill();
    for (const a of answers) {
      const got = await a.promise;
      assert.is(got.status, 200, `answered by ${a.on === host1 ? 'host2 after host1 died' : 'host2'}: ${got.text}`);
      assert.is(got.body.checksum, a.checksum, 'the right answer');
      if (a.result) assert.equal(got.body.result, a.result, 'the right result');
    }
    const retries = (await r.proxy.stats()).retries - retriesBefore;
    assert.ok(retries >= inFlightOnHost1, `the proxy sent each of the ${inFlightOnHost1} requests in flight on host1 again (${retries} retries)`);
    await host1.start();
    await waitUntilRouted(r, 1);
  });

  s(`${kind}: a large upload (over HAProxy's 16 kB retry buffer) in flight on a killed host: ${kind === 'nginx' ? 'nginx buffered it and sends it again' : "HAProxy cannot send it again: its own 502 problem"}`, async () => {
    const [host1, host2] = r.hosts as [Host, Host];
    await host1.server!.hold();
    await host2.server!.hold();
    const n = 64; // 2 x 64 x 64 float64 = 64 kB
    const a = Buffer.alloc(n * n * 8);
    const b = Buffer.alloc(n * n * 8);
    for (let i = 0; i < n * n; i++) {
      a.writeDoubleLE(i, i * 8);
      b.writeDoubleLE(0.5, i * 8);
    }
    // on a connection of its own: HAProxy answers a request it cannot resend with a 502 only on a fresh
    // client connection; on a reused one it closes the connection without an answer, as the host did
    // (the client may then resend it, as after any keep-alive race), and logs nothing
    const upload = postOnNewConnection(`${r.url}/add?rows=${n}&cols=${n}&dtype=float64&mode=threads&workers=1`, 'application/octet-stream', Buffer.concat([a, b]));
    await waitFor('the upload to be held', async () => (await host1.heldJobs()) + (await host2.heldJobs()) === 1);
    const [on, other] = (await host1.heldJobs()) === 1 ? [host1, host2] : [host2, host1];
    await other.server!.release();
    await on.kill();
    const got = await upload;
    if (kind === 'nginx') {
      assert.is(got.status, 200, got.body.toString().slice(0, 200));
      for (let i = 0; i < n * n; i++) if (got.body.readDoubleLE(i * 8) !== i + 0.5) assert.unreachable(`element ${i}: ${got.body.readDoubleLE(i * 8)}`);
    } else {
      assert.is(got.status, 502, got.body.toString());
      assert.is(got.type, 'application/problem+json');
      assert.is((JSON.parse(got.body.toString()) as { code: string }).code, 'BAD_GATEWAY', "the proxy's own problem (its codes are not the service's)");
    }
    await on.start();
    await waitUntilRouted(r, on.slot.index);
  });

  s(`${kind}: a draining host answers what it has in flight and gets no new connection; every request meanwhile is answered right`, async () => {
    const [host1, host2] = r.hosts as [Host, Host];
    // a job held on host1 keeps it draining (alive, listening socket closed) for as long as the test needs
    await host1.server!.hold();
    const held = fetch(`${host1.url}${labRequest(31).path}`).then(async (res) => ({ status: res.status, body: (await res.json()) as { checksum: string } }));
    await waitFor('host1 to hold the job', async () => (await host1.heldJobs()) === 1);
    host1.server!.signalGroup('SIGTERM');
    const before = await served(r, '/threading', '200', [host2]);
    const seeds = [41, 42, 43, 44, 45, 46, 47, 48];
    let answers: Promise<{ status: number; checksum: string }[]>;
    const send = (): typeof answers =>
      Promise.all(seeds.map((seed) => fetch(`${r.url}${labRequest(seed).path}`).then(async (res) => ({ status: res.status, checksum: ((await res.json()) as { checksum: string }).checksum }))));
    if (kind === 'haproxy') {
      // the check takes host1 out (its listening socket is closed): everything goes to host2
      await r.waitForHost(1, 'DOWN', isDown);
      answers = send();
      await answers;
      assert.is((await served(r, '/threading', '200', [host2])) - before, seeds.length, 'host2 answered all of them');
      await host1.server!.release();
    } else {
      // nginx has no check: a new connection to host1 is refused and retried on host2, but a request on
      // a keep-alive connection it still holds to host1 is answered there (after the release)
      answers = send();
      await host1.server!.release();
    }
    for (const [i, a] of (await answers).entries()) {
      assert.is(a.status, 200);
      assert.is(a.checksum, labRequest(seeds[i]!).checksum, 'the right answer');
    }
    const answer = await held;
    assert.is(answer.status, 200, 'the job in flight on the draining host is answered');
    assert.is(answer.body.checksum, labRequest(31).checksum);
    await host1.server!.exited;
    assert.is(host1.server!.exitDescription, 'exit code 0');
    await host1.start();
    await waitUntilRouted(r, 1);
  });

  s(`${kind}: every host down: the proxy's own problem+json (${kind === 'haproxy' ? '503 NO_HOST with Retry-After' : '502 BAD_GATEWAY'})`, async () => {
    for (const h of r.hosts) await h.kill();
    if (kind === 'haproxy') await r.proxy.waitForHosts('every host DOWN', isDown);
    const res = await fetch(`${r.url}${labRequest(71).path}`);
    const text = await res.text();
    assert.is(res.status, kind === 'haproxy' ? 503 : 502, text);
    assert.is(res.headers.get('content-type'), 'application/problem+json');
    const problem = JSON.parse(text) as { code: string; status: number };
    assert.is(problem.code, kind === 'haproxy' ? 'NO_HOST' : 'BAD_GATEWAY');
    assert.is(problem.status, res.status);
    if (kind === 'haproxy') assert.is(res.headers.get('retry-after'), '1');
  });

  s.run();
}

function timeoutSuite(kind: ProxyKind): void {
  const s = suite(`front proxy: ${kind} timeouts`);
  s(`${kind}: a job past the hosts' --timeout is the host's own 504 TIMEOUT problem, not the proxy's, and is not retried`, async () => {
    const r = await Replicas.start({ hosts: 1, proxy: kind, port: 0, netns: false, serverArgs: ['--threads', '1', '--processes', '1', '--timeout', '1'], testHooks: true, graceSeconds: 15 });
    try {
      await r.hosts[0]!.server!.hold();
      const res = await fetch(`${r.url}${labRequest(51).path}`);
      assertProblem(res.status, res.headers.get('content-type'), await res.text(), { status: 504, code: 'TIMEOUT' }, 'through the proxy');
      assert.is((await r.proxy.stats()).retries, 0, 'an answer is never retried');
      assert.match(await import('node:fs').then((fs) => fs.readFileSync(r.proxy.configPath, 'utf8')), kind === 'haproxy' ? /timeout server 6s/ : /proxy_read_timeout 6s;/, 'the proxy waits --timeout + 5 s');
    } finally {
      await r.stop();
    }
  });
  s.run();
}

for (const kind of PROXY_KINDS) {
  if (!toolsPresent(`front proxy tests (${kind})`, [kind, 'ab'])) continue;
  proxySuite(kind);
  timeoutSuite(kind);
}
