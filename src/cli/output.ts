/** Output helpers: aligned tables, JSON, and errors that carry their exit code. */

/** Exit codes: 0 ok, 1 failure or a finding, 2 usage error, 3 refused (route). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function age(from: string | Date | undefined): string {
  if (!from) return '-';
  const s = Math.max(0, Math.round((Date.now() - new Date(from).getTime()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export const print = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
export const printJson = (v: unknown) => print(JSON.stringify(v, null, 2));
