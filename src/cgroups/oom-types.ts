/** What both OOM watchers hand back. */

/** Why a watch ended: close() was called, the cgroup went away, or reading it failed. */
export type OomWatchEnd = 'closed' | 'gone' | 'error';

export interface OomWatch {
  /** Stops watching; safe to call more than once, and after the watch ended by itself. */
  close(): void;
  /** Settles once the watch is over. Never rejects: errors go to onError. */
  readonly done: Promise<OomWatchEnd>;
}

export interface OomWatchOptions {
  /** Keep the event loop alive while watching (default true, as for fs.watch). */
  readonly ref?: boolean;
  /** A failure after setup, which also ends the watch with 'error'. */
  readonly onError?: (err: unknown) => void;
}

/** Calls onOom; a throwing callback is the caller's bug, not a reason to stop watching. */
export function report(onOom: () => void, opts: OomWatchOptions): void {
  try {
    onOom();
  } catch (err) {
    opts.onError?.(err);
  }
}
