/** Polls cond until it holds or ms pass; resolves with its last answer. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000, everyMs = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return cond();
}
