import type { onRequestAsyncHookHandler } from 'fastify';
import { VigilError } from '../errors.js';
import { RETRY_AFTER_FULL_S, type Writer } from '../ingest/writer.js';

/**
 * An onRequest hook for the routes that queue client writes: when the writer's queue is full
 * already, answer 429 before the body is read, so an overloaded hub spends nothing on a request it
 * would refuse (the writer still refuses a body that would overflow a queue that is not yet full).
 * It runs after authentication, so a client without credentials still hears 401.
 */
export function refuseWhenQueueFull(writer: Writer): onRequestAsyncHookHandler {
  return async () => {
    if (writer.full) throw new VigilError('VIGIL_INGEST_QUEUE_FULL', undefined, RETRY_AFTER_FULL_S);
  };
}
