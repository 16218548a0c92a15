/** What a synchronous check does with its input: 'ok', or the thrown error's `kind: message`. */
export function kindOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return `${(err as { kind?: string }).kind}: ${(err as Error).message}`;
  }
}
