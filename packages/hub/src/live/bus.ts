import type { LiveMessage } from './messages.js';

/** `local`: committed by this hub's writer; `remote`: by another hub on the same database (cluster/link.ts). */
export type Origin = 'local' | 'remote';

export type Listener = (messages: readonly LiveMessage[], origin: Origin) => void;

/**
 * In-process fan-out of what each commit stored. Listeners get a whole batch at once and must not
 * throw or block: a failing listener is reported and the others still run.
 */
export class Bus {
  private readonly listeners = new Set<Listener>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(messages: readonly LiveMessage[], origin: Origin = 'local'): void {
    if (messages.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(messages, origin);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
