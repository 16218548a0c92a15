/**
 * Which tasks belong to which pod this daemon sandboxes, from the sandbox id CRI writes on
 * every container: StopSandbox must end everything in the pod, and `switchyard ps` groups
 * tasks under their pod.
 */
export class PodMembers {
  private readonly byPod = new Map<string, Set<string>>();
  private readonly podOf = new Map<string, string>();

  add(sandboxId: string, taskId: string): void {
    let set = this.byPod.get(sandboxId);
    if (!set) this.byPod.set(sandboxId, (set = new Set()));
    set.add(taskId);
    this.podOf.set(taskId, sandboxId);
  }

  remove(taskId: string): void {
    const pod = this.podOf.get(taskId);
    if (pod === undefined) return;
    this.podOf.delete(taskId);
    const set = this.byPod.get(pod);
    set?.delete(taskId);
    if (set && set.size === 0) this.byPod.delete(pod);
  }

  of(sandboxId: string): string[] {
    return [...(this.byPod.get(sandboxId) ?? [])];
  }

  sandboxOf(taskId: string): string | undefined {
    return this.podOf.get(taskId);
  }
}
