import { isWindowedMetric, type Alert } from '@vigil/protocol';

// Part of reading an alert: its `message` is derived from the stored fields, never stored itself.

/** Numbers as people read them: at most two decimals, no trailing zeros. */
function figure(n: number | null): string {
  return n === null ? 'no data' : String(Math.round(n * 100) / 100);
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 360) / 10} h`;
}

/** One sentence about an alert, for the API, the live feed and notifications. */
export function describeAlert(a: Omit<Alert, 'message'>): string {
  const condition = `${a.metric} ${a.op} ${figure(a.threshold)}`;
  // A pool-wide spend alert is keyed `pool:<name>` (see WINDOWED_ALERT_METRICS).
  const on = isWindowedMetric(a.metric) && a.agent_id.startsWith('pool:') ? `pool ${a.agent_id.slice(5)}` : `agent ${a.agent_id}`;
  if (a.metric === 'offline') {
    if (a.state === 'resolved') return `Agent ${a.agent_id} is back (${a.rule_name})`;
    return `Agent ${a.agent_id} is offline (${a.rule_name})`;
  }
  if (a.metric === 'crashed') {
    if (a.state === 'resolved') return `Agent ${a.agent_id} is back after a crash (${a.rule_name})`;
    return `Agent ${a.agent_id} crashed (${a.rule_name})`;
  }
  switch (a.state) {
    case 'pending':
      return `${a.metric} is ${figure(a.last_value)} on ${on} (${condition}, pending)`;
    case 'firing':
      return `${a.metric} is ${figure(a.last_value)} on ${on} (${condition}; peak ${figure(a.peak_value)})`;
    case 'resolved': {
      const lasted = a.started_at !== null && a.resolved_at !== null ? ` after ${duration(a.resolved_at - a.started_at)}` : '';
      return `${a.metric} is back to ${figure(a.last_value)} on ${on}${lasted} (${condition}; peak ${figure(a.peak_value)})`;
    }
  }
}
