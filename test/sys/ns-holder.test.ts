import t from 'tap';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { holderArgv, spawnNamespaceHolder } from '../../src/sys/ns-holder.js';
import { needsRoot } from '../helpers/root.js';

t.test('argv: nsenter into the pod\'s netns, unshare the rest, sleep', async (t) => {
  t.same(holderArgv({ netns: '/run/netns/cni-1', ipc: true, uts: true, pid: false }), ['nsenter', '--net=/run/netns/cni-1', '--', 'unshare', '--ipc', '--uts', '--', 'sleep', 'infinity']);
  t.same(holderArgv({ ipc: false, uts: true, pid: true }), ['unshare', '--uts', '--pid', '--fork', '--kill-child', '--', 'sleep', 'infinity'], 'host network and IPC, a pid namespace');
  t.same(
    holderArgv({ ipc: true, uts: true, hostname: '-pod', pid: false }),
    ['unshare', '--ipc', '--uts', '--', 'sh', '-c', 'hostname -- "$0" && exec sleep infinity', '-pod'],
    'the hostname set in the chain, as data (never an option, never shell text)',
  );
});

const ns = (pid: number | 'self', n: string) => fs.readlinkSync(`/proc/${pid}/ns/${n}`);

t.test('a real holder: its namespaces, its hostname, its death', { skip: needsRoot('unshare makes namespaces') }, async (t) => {
  const h = await spawnNamespaceHolder({ ipc: true, uts: true, hostname: 'pod-a', pid: false });
  t.teardown(() => h.kill('SIGKILL'));
  t.equal(fs.readFileSync(`/proc/${h.pid}/comm`, 'utf8').trim(), 'sleep');
  t.not(ns(h.pid, 'ipc'), ns('self', 'ipc'), 'new IPC namespace');
  t.not(ns(h.pid, 'uts'), ns('self', 'uts'), 'new UTS namespace');
  t.equal(ns(h.pid, 'net'), ns('self', 'net'), 'the node\'s network when no netns is given');
  t.equal(execFileSync('nsenter', [`--uts=/proc/${h.pid}/ns/uts`, '--', 'hostname'], { encoding: 'utf8' }).trim(), 'pod-a', 'the pod\'s hostname in its UTS namespace');
  h.kill('SIGKILL');
  const exit = await h.exited;
  t.equal(exit.status, 137, 'SIGKILL reads as 137');
});

t.test('a pid namespace: the holder is its init, and dies with its parent', { skip: needsRoot('unshare makes namespaces') }, async (t) => {
  const h = await spawnNamespaceHolder({ ipc: true, uts: true, pid: true });
  t.teardown(() => h.kill('SIGKILL'));
  t.not(ns(h.pid, 'pid'), ns('self', 'pid'), 'new pid namespace');
  const nspid = fs.readFileSync(`/proc/${h.pid}/status`, 'utf8').match(/^NSpid:\s+\d+\s+(\d+)/m)?.[1];
  t.equal(nspid, '1', 'the holder is pid 1 inside');
  h.kill('SIGKILL');
  await h.exited;
  t.throws(() => fs.readFileSync(`/proc/${h.pid}/comm`), 'gone');
});

t.test('a pid namespace with a hostname: the holder is still sleep, its init', { skip: needsRoot('unshare makes namespaces') }, async (t) => {
  const h = await spawnNamespaceHolder({ ipc: true, uts: true, hostname: 'pod-b', pid: true });
  t.teardown(() => h.kill('SIGKILL'));
  t.equal(fs.readFileSync(`/proc/${h.pid}/comm`, 'utf8').trim(), 'sleep');
  t.equal(fs.readFileSync(`/proc/${h.pid}/status`, 'utf8').match(/^NSpid:\s+\d+\s+(\d+)/m)?.[1], '1');
  h.kill('SIGKILL');
  await h.exited;
});

t.test('a hostname the kernel refuses: a clear error, nothing left', { skip: needsRoot('unshare makes namespaces') }, async (t) => {
  await t.rejects(spawnNamespaceHolder({ ipc: true, uts: true, hostname: 'x'.repeat(80), pid: false }), /namespace holder exited at once .*hostname/);
});

t.test('a netns that does not exist: a clear error, nothing left', { skip: needsRoot('unshare makes namespaces') }, async (t) => {
  await t.rejects(spawnNamespaceHolder({ netns: '/nonexistent/netns', ipc: true, uts: true, pid: false }), /namespace holder exited at once/);
});
