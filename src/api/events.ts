import { containerd, google } from '../gen/proto.js';
import { defineMethod } from '../transport/service.js';

export const EVENTS_TTRPC = 'containerd.services.events.ttrpc.v1.Events';

/** containerd's ttrpc Events service: the shim forwards its task events here. */
export const eventsService = {
  Forward: defineMethod(
    EVENTS_TTRPC,
    'Forward',
    containerd.services.events.ttrpc.v1.ForwardRequest,
    google.protobuf.Empty,
  ),
};
