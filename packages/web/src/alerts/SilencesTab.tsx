import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { AlertRule, Silence } from '../api/types.js';
import { useNow, useServices } from '../app/services.js';
import { formatAgo, formatDateTime } from '../ui/format.js';
import { Empty, ErrorState, Loading } from '../ui/states.js';
import { DURATIONS, problemText } from './duration.js';

type Listed = Silence & { active: boolean };

/** Silences: the active ones (or all), a form to add one, and End now. */
export function SilencesTab() {
  const { api } = useServices();
  const now = useNow(5000);
  const [all, setAll] = useState(false);
  const [silences, setSilences] = useState<Listed[] | null>(null);
  const [rules, setRules] = useState<AlertRule[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [formProblem, setFormProblem] = useState<string | null>(null);
  const [ruleId, setRuleId] = useState('');
  const [agentId, setAgentId] = useState('');
  const [seconds, setSeconds] = useState(3600);
  const [comment, setComment] = useState('');

  const load = useCallback(() => {
    setProblem(null);
    Promise.all([
      api.get<{ silences: Listed[] }>(`/api/v1/silences?limit=500${all ? '&all=true' : ''}`),
      api.get<{ rules: AlertRule[] }>('/api/v1/alert-rules'),
    ]).then(
      ([s, r]) => {
        setSilences(s.silences);
        setRules(r.rules);
      },
      (err: unknown) => setProblem(problemText(err)),
    );
  }, [api, all]);
  useEffect(load, [load]);

  const ruleName = (id: number | null) => (id === null ? 'every rule' : (rules.find((r) => r.id === id)?.name ?? `rule ${id}`));

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setFormProblem(null);
    const body: Record<string, unknown> = { duration_seconds: seconds };
    if (ruleId !== '') body.rule_id = Number(ruleId);
    if (agentId.trim() !== '') body.agent_id = agentId.trim();
    if (comment.trim() !== '') body.comment = comment.trim();
    try {
      await api.post('/api/v1/silences', body);
      setComment('');
      load();
    } catch (err) {
      setFormProblem(problemText(err));
    }
  };
  const end = async (s: Listed) => {
    try {
      await api.delete(`/api/v1/silences/${s.id}`);
      load();
    } catch (err) {
      setProblem(problemText(err));
    }
  };

  return (
    <section className="panel" aria-label="Silences">
      <form className="alerts-form" onSubmit={(e) => void create(e)} aria-label="New silence">
        <label>
          Rule
          <select value={ruleId} onChange={(e) => setRuleId(e.target.value)} aria-label="Rule to silence">
            <option value="">every rule</option>
            {rules.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Agent id
          <input value={agentId} onChange={(e) => setAgentId(e.target.value)} placeholder="every agent" aria-label="Agent to silence" />
        </label>
        <label>
          For
          <select value={seconds} onChange={(e) => setSeconds(Number(e.target.value))} aria-label="Silence for">
            {DURATIONS.map((d) => (
              <option key={d.seconds} value={d.seconds}>
                {d.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Comment
          <input value={comment} onChange={(e) => setComment(e.target.value)} maxLength={500} aria-label="Comment" />
        </label>
        <button type="submit" className="button primary">
          Add silence
        </button>
        <label className="inline">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> show ended ones too
        </label>
      </form>
      {formProblem && (
        <p className="form-error" role="alert">
          {formProblem}
        </p>
      )}
      {problem ? (
        <ErrorState title="The silences could not be loaded" message={problem} onRetry={load} />
      ) : silences === null ? (
        <Loading label="Loading silences…" />
      ) : silences.length === 0 ? (
        <Empty title="No active silences" />
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Rule</th>
              <th>Agent</th>
              <th>Until</th>
              <th>Comment</th>
              <th>Added</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {silences.map((s) => (
              <tr key={s.id} data-silence-id={s.id}>
                <td>{ruleName(s.rule_id)}</td>
                <td>{s.agent_id ?? 'every agent'}</td>
                <td>
                  {formatDateTime(s.until)}
                  {!s.active && <span className="muted small"> (ended)</span>}
                </td>
                <td>{s.comment ?? ''}</td>
                <td>{formatAgo(s.created_at, now)}</td>
                <td>
                  {s.active && (
                    <button type="button" className="button small" onClick={() => void end(s)}>
                      End now
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
