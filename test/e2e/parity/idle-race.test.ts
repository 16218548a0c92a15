/**
 * A daemon idling out must never be handed to containerd: rounds of parallel `ctr run --rm`
 * timed around a 1 s idle timeout, with the CPU busy, and not one Create may fail.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { requireE2E } from '../lib/prereq.js';
import { RUNTIME, switchyardContainerd } from '../lib/switchyard.js';
import { tempDir } from '../../helpers/tmp.js';

const ROUNDS = 30;
const PARALLEL = 4;

if (requireE2E(t)) {
  const env = switchyardContainerd(t);

  /** Busy loops (niced, so the machine stays usable) that keep both cores loaded. */
  const load = (t: Test): void => {
    const loops: ChildProcess[] = [];
    for (let i = 0; i < 2; i++) loops.push(spawn('nice', ['-n', '10', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
    t.teardown(() => loops.forEach((p) => p.kill('SIGKILL')));
  };

  t.test(`${ROUNDS} rounds of ${PARALLEL} parallel runs against a 1 s idle exit, CPU loaded`, async (t) => {
    const dir = tempDir(t);
    const config = path.join(dir, 'config.toml');
    const state = path.join(dir, 'state');
    fs.writeFileSync(config, `idle_timeout = "1s"\nstate_dir = ${JSON.stringify(state)}\nruntime_root = ${JSON.stringify(path.join(dir, 'runc'))}\n`);
    env.c.addRuntimeRoot(path.join(dir, 'runc', env.c.namespace));
    load(t);
    const failures: string[] = [];
    let runs = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all(
        Array.from({ length: PARALLEL }, async (_, i) => {
          const id = `race-${round}-${i}`;
          const r = await env.c.ctr(['run', '--rm', '--runtime-config-path', config, '--runtime', RUNTIME, env.ref, id, 'true'], { reject: false, timeoutMs: 90_000 });
          if (r.exitCode !== 0) await env.c.ctr(['container', 'delete', id], { reject: false });
          return { id, r };
        }),
      );
      for (const { id, r } of results) {
        runs++;
        if (r.exitCode !== 0) failures.push(`${id}: exit ${r.exitCode}: ${r.stderr.trim()}`);
      }
      // Around the idle timeout, so starts keep landing while the daemon decides to leave.
      await new Promise((r) => setTimeout(r, 850 + Math.floor(Math.random() * 400)));
    }
    t.equal(runs, ROUNDS * PARALLEL);
    // The race was really run: the daemon left (and a start brought a new one) many times.
    const logs = path.join(state, 'logs');
    const text = fs.readdirSync(logs).map((n) => fs.readFileSync(path.join(logs, n), 'utf8')).join('');
    const exits = text.split('\n').filter((l) => l.includes('"msg":"daemon exiting"')).length;
    t.ok(exits >= 5, `the daemon idled out ${exits} times during the rounds`);
    t.same(failures, [], `${failures.length} of ${runs} runs failed`);
  });
}
