/** `config check`: a Switchyard config parsed as the daemon would, with its errors by file and line. */
import fs from 'node:fs';
import { parseConfig, type Config } from '../config/config.js';
import { describe } from '../errors/index.js';
import { print, printJson } from './output.js';

export function configCheck(file: string, json: boolean): number {
  let cfg: Config;
  try {
    cfg = parseConfig(fs.readFileSync(file, 'utf8'), file);
  } catch (err) {
    const msg = (err as NodeJS.ErrnoException).code ? `${file}: ${(err as NodeJS.ErrnoException).code}` : describe(err);
    if (json) printJson({ ok: false, error: msg });
    else process.stderr.write(`${msg}\n`);
    return 2;
  }
  const summary = { ok: true, file, runtimes: Object.keys(cfg.runtimes), default: cfg.defaultRuntime, annotationKey: cfg.annotationKey, rules: cfg.policy.rules.map((r) => r.name), hardenOnly: cfg.policy.hardenOnly };
  if (json) printJson(summary);
  else print(`${file}: ok\n  runtimes: ${summary.runtimes.join(', ')}\n  default: ${summary.default}\n  annotation: ${summary.annotationKey}\n  policy rules: ${summary.rules.join(', ') || '(none: every namespace may use every runtime)'}${summary.hardenOnly ? ' (harden_only)' : ''}`);
  return 0;
}
