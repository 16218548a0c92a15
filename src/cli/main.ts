/**
 * `switchyard`: one tool for a node operator to see, explain and debug every pod Switchyard
 * runs. Exit codes: 0 ok; 1 a failure, or a finding (doctor); 2 a usage error or a bad
 * config (config check); 3 the router refused (route); a task's own exit code for exec.
 */
import { parseArgs } from 'node:util';
import { VERSION } from '../shim/version.js';
import { loadConfig, type Config } from '../config/config.js';
import { describe } from '../errors/index.js';
import { CliError, print } from './output.js';
import { exec, kill, parseSignal, pids, ps, state, stats, wait } from './tasks.js';
import { routeDryRun, why } from './route.js';
import { logs } from './logs.js';
import { configCheck } from './config-check.js';
import { doctor } from './doctor.js';
import { RUNTIMECLASS } from './runtimeclass.js';
import { containerdSnippet, formFor, installedContainerd, parseVersionArg } from './containerd-config.js';
import { trace } from './trace.js';
import { NODE_HELP, nodeCommand } from '../install/cli.js';

const COMMON = '  -n, --namespace NS   containerd namespace (default: the only one that has the task)\n  --json               machine-readable output\n  --config FILE        Switchyard config (default: SWITCHYARD_CONFIG, /etc/switchyard/config.toml)';

const HELP: Record<string, string> = {
  '': `switchyard ${VERSION}: see, explain and debug every task Switchyard runs.

Usage: switchyard COMMAND [options]   (switchyard COMMAND --help for more)

  ps                      every daemon and task on this node
  state|pids|stats ID     one task, through its daemon
  kill ID [-s SIG] [--all]
  wait ID                 block until the task exits; prints its status
  exec [-t] ID -- CMD…    run CMD in the task
  why ID                  why the task runs where it runs
  route …                 dry-run the router against this node's config
  trace [-n NS]           live stream of a daemon's RPCs
  logs ID [-f]            the daemon's log lines for one task
  doctor                  check runtimes, containerd's config, cgroups, CRIU, KVM, permissions
  config check FILE       validate a config file
  install --print-containerd-config | --print-runtimeclass
  node install|uninstall|doctor --host-root DIR   set up or remove Switchyard on a node
  version

Exit codes: 0 ok, 1 failure or finding, 2 usage error, 3 refused by the router.`,
  ps: `Usage: switchyard ps [-n NS] [--json]\n\nEvery daemon (from its card under state_dir) and every task it serves.\n\n${COMMON}\n\nExample: switchyard ps -n k8s.io`,
  state: `Usage: switchyard state ID [--exec-id EID] [-n NS] [--json]\n\n${COMMON}\n\nExample: switchyard state web-1`,
  pids: `Usage: switchyard pids ID [-n NS] [--json]\n\nPids in the task, execs marked with their exec id.\n\n${COMMON}\n\nExample: switchyard pids web-1`,
  stats: `Usage: switchyard stats ID [-n NS] [--json]\n\nCPU, memory and pids from the task's cgroup.\n\n${COMMON}\n\nExample: switchyard stats web-1 --json`,
  kill: `Usage: switchyard kill ID [-s SIGNAL] [--all] [--exec-id EID] [-n NS]\n\nDefault signal TERM.\n\n${COMMON}\n\nExample: switchyard kill web-1 -s KILL`,
  wait: `Usage: switchyard wait ID [-n NS] [--json]\n\nBlocks until the task's init exits; prints its exit status (code, or 128+signal).\n\n${COMMON}\n\nExample: switchyard wait batch-7`,
  exec: `Usage: switchyard exec [-t] ID -- CMD [ARG…]\n\nRuns CMD in the task with the task's own user, env and cwd; exits with CMD's code.\n\n  -t, --tty            a terminal (for a shell)\n${COMMON}\n\nExample: switchyard exec -t web-1 -- sh`,
  why: `Usage: switchyard why ID [-n NS] [--json]\n\nThe routing decision recorded when the task was created: runtime, rule, inputs.\n\n${COMMON}\n\nExample: switchyard why -n k8s.io 3f2a9c…`,
  route: `Usage: switchyard route (--bundle DIR | --annotation K=V…) [--k8s-namespace NS] [--container-type sandbox|container] [--sandbox-id ID] [-n CONTAINERD_NS] [--config FILE] [--json]\n\nWhat the router would decide, in the same words as \`why\`. Exit 3 when it refuses.\n\nExample: switchyard route --annotation switchyard.dev/runtime=runsc --k8s-namespace tenant-a`,
  trace: `Usage: switchyard trace [-n NS] [--json] [--all] [--for SECONDS]\n\nEach RPC a daemon answers: time, method, task, exec, duration, status code. Ctrl-C stops.\n  --all                start with the calls still in the daemon's buffer\n  --for SECONDS        stop after that long\n${COMMON}\n\nExample: switchyard trace -n k8s.io`,
  logs: `Usage: switchyard logs ID [-f] [--json]\n\n  -f, --follow         keep printing new lines\n${COMMON}\n\nExample: switchyard logs web-1 -f`,
  doctor: `Usage: switchyard doctor [--containerd-config FILE] [--json]\n\nChecks each runtime (found, version), containerd's runtime entry and its pod_annotations, cgroups, CRIU, KVM and permissions. Exit 1 when any check is an error.\n\nExample: switchyard doctor --containerd-config /etc/containerd/config.toml`,
  config: `Usage: switchyard config check FILE [--json]\n\nExit 0 and a summary, or exit 2 with file:line: key: reason.\n\nExample: switchyard config check /etc/switchyard/config.toml`,
  node: NODE_HELP,
  install: `Usage: switchyard install --print-containerd-config [--containerd-version V] | --print-runtimeclass\n\nSnippets to paste: containerd's runtime entry (with pod_annotations) in the config form of the containerd on PATH (version 2 for 1.6/1.7, version 3 for 2.x) or of --containerd-version; the RuntimeClass.\n\nExample: switchyard install --print-containerd-config --containerd-version 2.1`,
};

const ROOTLESS = new Set(['help', 'version', 'config', 'route', 'install']);

export async function main(argv: readonly string[]): Promise<number> {
  const cmd = argv[0] && !argv[0].startsWith('-') ? argv[0] : argv.includes('--version') ? 'version' : 'help';
  const rest = argv.slice(cmd === argv[0] ? 1 : 0);
  try {
    if (cmd === 'version') {
      print(`switchyard ${VERSION}`);
      return 0;
    }
    if (cmd === 'help') {
      const topic = rest[0] ?? '';
      print(HELP[topic] ?? HELP['']!);
      return HELP[topic] !== undefined || argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h' ? 0 : 2;
    }
    if (!(cmd in HELP)) throw new CliError(`unknown command ${JSON.stringify(cmd)}; see switchyard --help`, 2);
    if (rest.includes('--help') || rest.includes('-h')) {
      print(HELP[cmd]!);
      return 0;
    }
    if (!ROOTLESS.has(cmd) && process.getuid?.() !== 0) {
      throw new CliError(`switchyard ${cmd} needs root: the daemons' sockets and state are root's alone (0600/0700). Run it with sudo.`, 1);
    }
    return await run(cmd, rest);
  } catch (err) {
    const code = err instanceof CliError ? err.exitCode : 1;
    process.stderr.write(`switchyard ${cmd}: ${err instanceof CliError ? err.message : describe(err)}\n`);
    return code;
  }
}

type Options = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

function parse(args: readonly string[], options: Options = {}): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: { namespace: { type: 'string', short: 'n' }, json: { type: 'boolean' }, config: { type: 'string' }, ...options },
    });
    return { values: r.values as Record<string, string | boolean | string[] | undefined>, positionals: r.positionals };
  } catch (err) {
    throw new CliError(`${(err as Error).message}; see --help`, 2);
  }
}

function config(file: unknown): Config {
  return loadConfig(typeof file === 'string' ? file : undefined);
}

function one(positionals: string[], what = 'ID'): string {
  if (positionals.length !== 1) throw new CliError(`expected one ${what}; see --help`, 2);
  return positionals[0]!;
}

async function run(cmd: string, args: readonly string[]): Promise<number> {
  switch (cmd) {
    case 'ps': {
      const { values } = parse(args);
      return ps(config(values.config).stateDir, values.namespace as string | undefined, !!values.json);
    }
    case 'state': {
      const { values, positionals } = parse(args, { 'exec-id': { type: 'string' } });
      return state(config(values.config).stateDir, one(positionals), values.namespace as string | undefined, values['exec-id'] as string | undefined, !!values.json);
    }
    case 'pids':
    case 'stats':
    case 'wait': {
      const { values, positionals } = parse(args);
      const f = cmd === 'pids' ? pids : cmd === 'stats' ? stats : wait;
      return f(config(values.config).stateDir, one(positionals), values.namespace as string | undefined, !!values.json);
    }
    case 'kill': {
      const { values, positionals } = parse(args, { signal: { type: 'string', short: 's' }, all: { type: 'boolean' }, 'exec-id': { type: 'string' } });
      return kill(config(values.config).stateDir, one(positionals), values.namespace as string | undefined, parseSignal((values.signal as string) ?? 'TERM'), !!values.all, values['exec-id'] as string | undefined);
    }
    case 'exec': {
      const dd = args.indexOf('--');
      if (dd < 0 || dd === args.length - 1) throw new CliError('expected ID -- CMD [ARG…]; see --help', 2);
      const { values, positionals } = parse(args.slice(0, dd), { tty: { type: 'boolean', short: 't' } });
      return exec(config(values.config).stateDir, one(positionals), values.namespace as string | undefined, args.slice(dd + 1), !!values.tty);
    }
    case 'why': {
      const { values, positionals } = parse(args);
      return why(config(values.config), one(positionals), values.namespace as string | undefined, !!values.json);
    }
    case 'route': {
      const { values, positionals } = parse(args, {
        bundle: { type: 'string' },
        annotation: { type: 'string', multiple: true },
        'k8s-namespace': { type: 'string' },
        'container-type': { type: 'string' },
        'sandbox-id': { type: 'string' },
      });
      if (positionals.length) throw new CliError(`unexpected ${positionals[0]}; see --help`, 2);
      if (!values.bundle && !(values.annotation as string[] | undefined)?.length && !values['k8s-namespace']) throw new CliError('give --bundle DIR or --annotation K=V (and --k8s-namespace NS); see --help', 2);
      return routeDryRun(config(values.config), {
        bundle: values.bundle as string | undefined,
        annotations: (values.annotation as string[] | undefined) ?? [],
        k8sNamespace: values['k8s-namespace'] as string | undefined,
        containerType: values['container-type'] as string | undefined,
        sandboxId: values['sandbox-id'] as string | undefined,
        containerdNamespace: (values.namespace as string | undefined) ?? 'k8s.io',
        json: !!values.json,
      });
    }
    case 'trace': {
      const { values } = parse(args, { all: { type: 'boolean' }, for: { type: 'string' } });
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      return trace({ stateDir: config(values.config).stateDir, namespace: values.namespace as string | undefined, json: !!values.json, fromStart: !!values.all, durationMs: values.for ? Number(values.for) * 1000 : undefined, signal: ac.signal });
    }
    case 'logs': {
      const { values, positionals } = parse(args, { follow: { type: 'boolean', short: 'f' } });
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      return logs(config(values.config), one(positionals), !!values.follow, !!values.json, ac.signal);
    }
    case 'doctor': {
      const { values } = parse(args, { 'containerd-config': { type: 'string' } });
      return doctor(config(values.config), (values['containerd-config'] as string | undefined) ?? '/etc/containerd/config.toml', !!values.json);
    }
    case 'config': {
      const { values, positionals } = parse(args);
      if (positionals[0] !== 'check' || positionals.length !== 2) throw new CliError('usage: switchyard config check FILE', 2);
      return configCheck(positionals[1]!, !!values.json);
    }
    case 'node':
      try {
        return await nodeCommand(args);
      } catch (err) {
        throw new CliError(`${(err as Error).message}; see switchyard node --help`, 2);
      }
    case 'install': {
      const { values } = parse(args, { 'print-containerd-config': { type: 'boolean' }, 'print-runtimeclass': { type: 'boolean' }, 'containerd-version': { type: 'string' } });
      if (values['print-containerd-config']) {
        const given = values['containerd-version'] as string | undefined;
        const version = given !== undefined ? parseVersionArg(given) : installedContainerd();
        if (given !== undefined && !version) throw new CliError(`--containerd-version ${JSON.stringify(given)}: want a version such as 1.7 or 2.1.9`, 2);
        // No containerd found and none named: the version-2 form, which every containerd reads (2.x migrates it).
        print(containerdSnippet(config(values.config), version ? formFor(version) : 2, version?.text));
      }
      else if (values['print-runtimeclass']) print(RUNTIMECLASS);
      else throw new CliError('give --print-containerd-config or --print-runtimeclass', 2);
      return 0;
    }
  }
  throw new CliError(`unknown command ${cmd}`, 2);
}
