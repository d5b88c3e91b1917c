// `npm run replicas`: N hosts of the service behind HAProxy or nginx on this
// machine, until SIGINT or SIGTERM; then everything it started is stopped.
//
//   node dist/bench/cluster/replicas-main.js [--hosts 3] [--proxy haproxy|nginx] [--port 8000] [--netns]
//        [--server-args="--threads 1 --processes 1"]
//
// It prints the proxy's URL on stdout once every host is healthy.

import { parseArgs } from 'node:util';
import { parseOrExit } from '../http/cli.js';
import { BenchUsageError, positive } from '../http/options.js';
import { canUseNamespaces } from './network.js';
import { PROXY_KINDS, type ProxyKind } from './proxy-config.js';
import { Replicas } from './replicas.js';

interface CliOptions {
  hosts: number;
  proxy: ProxyKind;
  port: number;
  netns: boolean;
  serverArgs: string[];
  help: boolean;
}

/** On 2 cores, 3 hosts with pools of the machine's size would only fight over them. */
const DEFAULT_SERVER_ARGS = ['--threads', '1', '--processes', '1'];

const USAGE = `usage: npm run replicas -- [options]

  --hosts N             service hosts (default 3)
  --proxy KIND          haproxy or nginx, on deploy/haproxy.cfg or deploy/nginx.conf (default haproxy)
  --port P              the proxy's port on 127.0.0.1 (default 8000; 0: a free one)
  --netns               each host in a network namespace of its own, on a bridge (needs root);
                        without it the hosts listen on 127.0.0.11, 127.0.0.12, ... (free ports)
  --server-args="ARGS"  flags for every host (default "${DEFAULT_SERVER_ARGS.join(' ')}"; not -b)
  -h, --help            this text

Prints the proxy's URL once every host is healthy, serves until SIGINT or
SIGTERM, then drains the hosts and stops the proxy (and removes the namespaces).`;

function parseReplicasArgs(argv: string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        hosts: { type: 'string' },
        proxy: { type: 'string' },
        port: { type: 'string' },
        netns: { type: 'boolean', default: false },
        'server-args': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new BenchUsageError((e as Error).message);
  }
  const proxy = values.proxy ?? 'haproxy';
  if (!(PROXY_KINDS as readonly string[]).includes(proxy)) throw new BenchUsageError(`--proxy: "${proxy}" is not one of ${PROXY_KINDS.join(', ')}`);
  const port = values.port === '0' ? 0 : positive('port', values.port, 8000, true);
  if (port > 65535) throw new BenchUsageError(`--port: ${port} is not a port`);
  const serverArgs = values['server-args'] === undefined ? DEFAULT_SERVER_ARGS : values['server-args'].split(/\s+/).filter(Boolean);
  if (serverArgs.some((a) => a === '-b' || a.startsWith('--bind'))) throw new BenchUsageError('--server-args: the hosts\' addresses are the run\'s: no -b/--bind');
  if (values.netns && !canUseNamespaces()) throw new BenchUsageError('--netns needs root and a working `ip netns`; without it the hosts run on 127.0.0.x');
  return { hosts: positive('hosts', values.hosts, 3, true), proxy: proxy as ProxyKind, port, netns: values.netns!, serverArgs, help: values.help! };
}

async function main(): Promise<void> {
  const o = parseOrExit('replicas', USAGE, parseReplicasArgs, process.argv.slice(2));
  if (!o) return;
  const log = (line: string): void => void process.stderr.write(`replicas: ${line}\n`);
  let replicas: Replicas | undefined;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: draining the hosts and stopping ${o.proxy}`);
    await replicas?.stop();
    log('stopped');
    process.exit(0);
  };
  const wait = new Promise<never>(() => {}); // serves until a signal
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  replicas = await Replicas.start({ ...o, log });
  if (stopping) return; // a signal came while starting: stop() has it
  log(`${o.hosts} hosts healthy behind ${o.proxy}: ${replicas.hosts.map((h) => h.url).join(', ')}`);
  process.stdout.write(`${replicas.url}/\n`);
  await wait;
}

main().catch((e: unknown) => {
  process.stderr.write(`replicas: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
