/** A Switchyard ttrpc server answering Connect, run in its own process for the RTT benchmark. */
import { TtrpcServer } from '../src/transport/ttrpc/server.js';
import { taskServiceV2 } from '../src/api/task.js';
import { unimplemented } from '../src/errors/index.js';
import type { ServiceImplementation } from '../src/transport/service.js';
import type { TaskServiceDefinition } from '../src/api/task.js';

const no = async () => {
  throw unimplemented('benchmark server');
};
const impl = Object.fromEntries(Object.keys(taskServiceV2).map((k) => [k, no])) as unknown as ServiceImplementation<TaskServiceDefinition>;
impl.Connect = async () => ({ shimPid: process.pid, taskPid: 1, version: 'bench' });
const server = new TtrpcServer();
server.addService(taskServiceV2, impl);
await server.listen(process.argv[2]!);
process.stdout.write('ready\n');
