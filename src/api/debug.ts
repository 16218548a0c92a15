import { switchyard } from '../gen/proto.js';
import { defineMethod } from '../transport/service.js';

export const DEBUG_SERVICE = 'switchyard.debug.v1.Debug';

/** Our own debug service, on the daemon's socket beside the Task API. */
export const debugService = {
  Calls: defineMethod(DEBUG_SERVICE, 'Calls', switchyard.debug.v1.CallsRequest, switchyard.debug.v1.CallsResponse),
  Info: defineMethod(DEBUG_SERVICE, 'Info', switchyard.debug.v1.InfoRequest, switchyard.debug.v1.InfoResponse),
};

export type DebugServiceDefinition = typeof debugService;
