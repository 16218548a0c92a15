/**
 * The RuntimeClass handlers an install registers: `switchyard` (the pod's annotation picks
 * the runtime under /etc/switchyard/config.toml, or the defaults), and one per pin, e.g.
 * `switchyard-gvisor`, whose own Switchyard config (handed over as runtime options) makes
 * runsc the default and lets a pod ask only for something at least as strong.
 */
import { invalidArgument } from '../errors/index.js';
import type { Handler } from './containerd-toml.js';

export const HANDLER = 'switchyard';
export const HANDLER_CONFIG_DIR = '/etc/switchyard/handlers';
export const POD_ANNOTATIONS = ['switchyard.dev/*'];

export interface Pin {
  /** The handler is `switchyard-<name>`. */
  name: string;
  runtime: string;
}

/** `gvisor=runsc` → { name: 'gvisor', runtime: 'runsc' }. */
export function parsePin(s: string): Pin {
  const m = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?)=([A-Za-z0-9][A-Za-z0-9._-]*)$/.exec(s);
  if (!m) throw invalidArgument(`--pin ${JSON.stringify(s)}: expected NAME=RUNTIME, e.g. gvisor=runsc (NAME in lower case, as in a RuntimeClass handler)`);
  return { name: m[1]!, runtime: m[3]! };
}

export interface HandlerSet {
  handlers: Handler[];
  configs: { path: string; content: string }[];
}

const quote = (s: string) => JSON.stringify(s);

export function handlerSet(pins: readonly Pin[], runtimeArgs: Readonly<Record<string, string[]>>): HandlerSet {
  const handlers: Handler[] = [{ name: HANDLER, podAnnotations: POD_ANNOTATIONS }];
  const configs: { path: string; content: string }[] = [];
  for (const p of pins) {
    const name = `${HANDLER}-${p.name}`;
    const path = `${HANDLER_CONFIG_DIR}/${name}.toml`;
    handlers.push({ name, podAnnotations: POD_ANNOTATIONS, configPath: path });
    const args = runtimeArgs[p.runtime] ?? [];
    configs.push({
      path,
      content: [
        `# Written by \`switchyard node install\` for the RuntimeClass handler ${name}:`,
        `# pods run on ${p.runtime} unless they ask (switchyard.dev/runtime) for a runtime at`,
        '# least as strong. `switchyard node uninstall` removes it.',
        `default_runtime = ${quote(p.runtime)}`,
        ...(args.length ? ['', `[runtimes.${p.runtime}]`, `args = [${args.map(quote).join(', ')}]`] : []),
        '',
        '[policy]',
        'harden_only = true',
        '',
      ].join('\n'),
    });
  }
  return { handlers, configs };
}
