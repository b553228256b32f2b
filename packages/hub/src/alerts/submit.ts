import type { Writer } from '../ingest/writer.js';
import type { AlertAction, AlertResults } from './commands.js';

/** Submits one alerts action through the single writer and answers its own result type after COMMIT. */
export async function submitAlertAction<A extends AlertAction>(writer: Writer, action: A): Promise<AlertResults[A['type']]> {
  return (await writer.submitOne({ kind: 'alerts', action }, { background: true })) as AlertResults[A['type']];
}
