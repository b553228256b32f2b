import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { AlertRule } from '../api/types.js';
import { useFleet, useServices } from '../app/services.js';
import { formatCount } from '../ui/format.js';
import { Empty, ErrorState, Loading } from '../ui/states.js';
import { problemText } from './duration.js';
import {
  conditionText,
  draftOf,
  EMPTY_DRAFT,
  isWindowed,
  METRIC_NAMES,
  OPS,
  ruleBody,
  scopeMatches,
  scopeText,
  SEVERITY_NAMES,
  type RuleDraft,
} from './rule-form.js';

/** Alert rules: the list, enable/disable, delete, and one form to create or edit. */
export function RulesTab() {
  const { api } = useServices();
  const [rules, setRules] = useState<AlertRule[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [editing, setEditing] = useState<AlertRule | 'new' | null>(null);

  const load = useCallback(() => {
    setProblem(null);
    api.get<{ rules: AlertRule[] }>('/api/v1/alert-rules').then(
      (r) => setRules(r.rules),
      (err: unknown) => setProblem(problemText(err)),
    );
  }, [api]);
  useEffect(load, [load]);

  const act = async (fn: () => Promise<unknown>) => {
    setProblem(null);
    try {
      await fn();
      load();
    } catch (err) {
      setProblem(problemText(err));
    }
  };
  const toggle = (r: AlertRule) => act(() => api.patch(`/api/v1/alert-rules/${r.id}`, { enabled: !r.enabled }));
  const [confirming, setConfirming] = useState<number | null>(null);
  const remove = (r: AlertRule) => {
    setConfirming(null);
    void act(() => api.delete(`/api/v1/alert-rules/${r.id}`));
  };

  return (
    <section className="panel" aria-label="Rules">
      {editing === null ? (
        <button type="button" className="button primary" onClick={() => setEditing('new')}>
          New rule
        </button>
      ) : (
        <RuleForm
          key={editing === 'new' ? 'new' : editing.id}
          rule={editing === 'new' ? null : editing}
          onDone={() => {
            setEditing(null);
            load();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      {problem && (
        <p className="form-error" role="alert">
          {problem}
        </p>
      )}
      {rules === null ? (
        problem ? (
          <ErrorState title="The rules could not be loaded" message={problem} onRetry={load} />
        ) : (
          <Loading label="Loading rules…" />
        )
      ) : rules.length === 0 ? (
        <Empty title="No rules" />
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Condition</th>
              <th>Severity</th>
              <th>Scope</th>
              <th>Source</th>
              <th>Enabled</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => (
              <tr key={r.id} data-rule-name={r.name}>
                <td>{r.name}</td>
                <td>{conditionText(r)}</td>
                <td>
                  <span className={`severity severity-${r.severity}`}>{r.severity}</span>
                </td>
                <td>{scopeText(r.scope)}</td>
                <td className="muted">{r.source}</td>
                <td>
                  <label className="inline">
                    <input type="checkbox" checked={r.enabled} onChange={() => void toggle(r)} aria-label={`${r.name} enabled`} />
                    {r.enabled ? ' on' : ' off'}
                  </label>
                </td>
                <td>
                  <div className="alert-actions">
                    <button type="button" className="button small" onClick={() => setEditing(r)}>
                      Edit
                    </button>
                    {confirming === r.id ? (
                      <>
                        <span className="small">Delete, ending its open alerts?</span>
                        <button type="button" className="button small danger" onClick={() => remove(r)}>
                          Delete rule
                        </button>
                        <button type="button" className="button small ghost" onClick={() => setConfirming(null)}>
                          Keep
                        </button>
                      </>
                    ) : (
                      <button type="button" className="button small" onClick={() => setConfirming(r.id)}>
                        Delete…
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function RuleForm({ rule, onDone, onCancel }: { rule: AlertRule | null; onDone: () => void; onCancel: () => void }) {
  const { api } = useServices();
  const fleet = useFleet();
  const [d, setD] = useState<RuleDraft>(rule ? draftOf(rule) : EMPTY_DRAFT);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<RuleDraft>) => {
    setD((x) => ({ ...x, ...patch }));
    setProblem(null);
  };
  const checked = ruleBody(d, rule !== null);
  // One pass over the fleet per keystroke: cheap next to a render of the form.
  const matching = checked.ok ? scopeMatches(fleet.state.agents.values(), checked.body.scope) : [];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!checked.ok) {
      setProblem(checked.message);
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      if (rule) await api.patch(`/api/v1/alert-rules/${rule.id}`, checked.body);
      else await api.post('/api/v1/alert-rules', checked.body);
      onDone();
    } catch (err) {
      setProblem(problemText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="alerts-form rule-form"
      onSubmit={(e) => void submit(e)}
      aria-label={rule ? `Edit ${rule.name}` : 'New rule'}
      noValidate
    >
      <label>
        Name
        <input name="name" value={d.name} onChange={(e) => set({ name: e.target.value })} maxLength={100} />
      </label>
      <label>
        Metric
        <select name="metric" value={d.metric} onChange={(e) => set({ metric: e.target.value as RuleDraft['metric'] })}>
          {METRIC_NAMES.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </label>
      {isWindowed(d.metric) && (
        <>
          <label>
            Window (s)
            <input
              name="window_seconds"
              value={d.window_seconds}
              onChange={(e) => set({ window_seconds: e.target.value })}
              inputMode="numeric"
              size={6}
            />
          </label>
          <label>
            Sum per
            <select name="group_by" value={d.group_by} onChange={(e) => set({ group_by: e.target.value as RuleDraft['group_by'] })}>
              <option value="agent">agent</option>
              <option value="pool">pool</option>
            </select>
          </label>
        </>
      )}
      <label>
        Op
        <select name="op" value={d.op} onChange={(e) => set({ op: e.target.value as RuleDraft['op'] })}>
          {OPS.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      </label>
      <label>
        Threshold
        <input name="threshold" value={d.threshold} onChange={(e) => set({ threshold: e.target.value })} inputMode="decimal" size={8} />
      </label>
      <label>
        For (s)
        <input
          name="for_seconds"
          value={d.for_seconds}
          onChange={(e) => set({ for_seconds: e.target.value })}
          inputMode="numeric"
          size={6}
        />
      </label>
      <label>
        Severity
        <select name="severity" value={d.severity} onChange={(e) => set({ severity: e.target.value as RuleDraft['severity'] })}>
          {SEVERITY_NAMES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Hysteresis
        <input name="hysteresis" value={d.hysteresis} onChange={(e) => set({ hysteresis: e.target.value })} placeholder="5 %" size={6} />
      </label>
      <label>
        Agent id
        <input name="agent_id" value={d.agent_id} onChange={(e) => set({ agent_id: e.target.value })} placeholder="any" />
      </label>
      <label>
        Pool
        <input name="pool_name" value={d.pool_name} onChange={(e) => set({ pool_name: e.target.value })} placeholder="any" />
      </label>
      <label>
        Type
        <input name="agent_type" value={d.agent_type} onChange={(e) => set({ agent_type: e.target.value })} placeholder="any" />
      </label>
      <label className="inline">
        <input type="checkbox" checked={d.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> enabled
      </label>
      <button type="submit" className="button primary" disabled={busy}>
        {rule ? 'Save rule' : 'Create rule'}
      </button>
      <button type="button" className="button ghost" onClick={onCancel}>
        Cancel
      </button>
      <p className="muted small scope-matches" data-testid="scope-matches">
        {checked.ok
          ? `The scope matches ${formatCount(matching.length)} agent${matching.length === 1 ? '' : 's'} now${
              matching.length > 0
                ? `: ${matching
                    .slice(0, 5)
                    .map((a) => a.agent_id)
                    .join(', ')}${matching.length > 5 ? ', …' : ''}`
                : ''
            }.`
          : ''}
      </p>
      {problem && (
        <p className="form-error" role="alert" data-testid="rule-problem">
          {problem}
        </p>
      )}
    </form>
  );
}
