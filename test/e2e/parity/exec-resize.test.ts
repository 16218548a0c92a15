/**
 * Two answers containerd's client relies on, through containerd's Tasks API: deleting an
 * exec that was created but never started answers exit status 0, and ResizePty on a
 * process without a terminal succeeds and does nothing (as containerd-shim-runc-v2 does).
 */
import t, { type Test } from 'tap';
import { requireE2E } from '../lib/prereq.js';
import { RUNTIME, switchyardContainerd } from '../lib/switchyard.js';
import { deleteProcess, execCreate, resizePty } from '../lib/tasks-api.js';
import { waitFor } from '../lib/wait.js';

if (requireE2E(t)) {
  const env = switchyardContainerd(t);
  const running = async (t: Test, id: string) => {
    await env.c.ctr(['run', '-d', '--runtime', RUNTIME, env.ref, id, 'sleep', '1000']);
    t.ok(await waitFor(async () => new RegExp(`${id}\\s+\\d+\\s+RUNNING`).test((await env.c.ctr(['task', 'ls'])).stdout)), `${id} running`);
  };
  const remove = async (id: string) => {
    await env.c.ctr(['task', 'kill', '-s', 'SIGKILL', id], { reject: false });
    await waitFor(async () => !new RegExp(`${id}\\s+\\d+\\s+RUNNING`).test((await env.c.ctr(['task', 'ls'])).stdout));
    await env.c.ctr(['task', 'delete', id], { reject: false });
    await env.c.ctr(['container', 'delete', id], { reject: false });
  };

  t.test('an exec created and deleted without a start answers exit status 0', async (t) => {
    await running(t, 'ex0');
    await execCreate(env.c.address, env.c.namespace, 'ex0', 'never', { args: ['true'], cwd: '/', env: ['PATH=/bin'] });
    const r = await deleteProcess(env.c.address, env.c.namespace, 'ex0', 'never');
    t.equal(r.exitStatus, 0, 'exit status 0, like runc-v2');
    // It is gone: deleting it again is NotFound.
    await t.rejects(deleteProcess(env.c.address, env.c.namespace, 'ex0', 'never'), /not found/i);
    await remove('ex0');
  });

  t.test('ResizePty without a terminal succeeds, for the task and for an exec', async (t) => {
    await running(t, 'rz0');
    await resizePty(env.c.address, env.c.namespace, 'rz0', '', 100, 40);
    t.pass('the init process without a terminal: resized as a no-op');
    await execCreate(env.c.address, env.c.namespace, 'rz0', 'plain', { args: ['true'], cwd: '/', env: ['PATH=/bin'] });
    await resizePty(env.c.address, env.c.namespace, 'rz0', 'plain', 100, 40);
    t.pass('an exec without a terminal: resized as a no-op');
    await deleteProcess(env.c.address, env.c.namespace, 'rz0', 'plain');
    // A size out of range is still refused.
    await t.rejects(resizePty(env.c.address, env.c.namespace, 'rz0', '', 0, 40), /out of range/);
    // The task is still fine.
    t.match((await env.c.ctr(['task', 'ls'])).stdout, /rz0\s+\d+\s+RUNNING/);
    await remove('rz0');
  });
}
