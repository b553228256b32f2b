import type { Static, TObject } from 'typebox';
import {
  AgentDetail,
  AgentView,
  AlertRuleView,
  AlertView,
  ApiKeyView,
  CapacityMatch,
  DashboardAgent,
  DeliveryView,
  ErrorGroupView,
  EventView,
  ListedAgent,
  ListedSilence,
  MetricSample,
  SilenceView,
  SystemSample,
  TraceView,
  WebhookView,
} from '@vigil/protocol';

/**
 * Store rows to the wire views of @vigil/protocol. Each view copies only the fields its schema
 * names, so a column added to a table (or a field a store function spreads in) reaches no client
 * until the contract names it; the row's type must still supply every field the view requires.
 */
/** A function that copies, of a row, the fields `schema` names. */
function viewOf<T extends TObject>(schema: T): (row: Static<T>) => Static<T> {
  const keys = Object.keys(schema.properties);
  return (row) => {
    const out: Record<string, unknown> = {};
    const from = row as Record<string, unknown>;
    for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
    return out as Static<T>;
  };
}

export const agentView = viewOf(AgentView);
export const listedAgentView = viewOf(ListedAgent);
export const agentDetailView = viewOf(AgentDetail);
export const capacityView = viewOf(CapacityMatch);
export const dashboardAgentView = viewOf(DashboardAgent);
export const eventView = viewOf(EventView);
export const errorView = viewOf(ErrorGroupView);
export const traceView = viewOf(TraceView);
export const keyView = viewOf(ApiKeyView);
export const ruleView = viewOf(AlertRuleView);
export const alertView = viewOf(AlertView);
export const silenceView = viewOf(SilenceView);
export const listedSilenceView = viewOf(ListedSilence);
export const webhookView = viewOf(WebhookView);
export const deliveryView = viewOf(DeliveryView);
export const sampleView = viewOf(MetricSample);
export const systemSampleView = viewOf(SystemSample);
