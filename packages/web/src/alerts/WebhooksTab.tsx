import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Delivery, Webhook } from '../api/types.js';
import { useNow, useServices } from '../app/services.js';
import { formatAgo } from '../ui/format.js';
import { Empty, ErrorState, Loading } from '../ui/states.js';
import { problemText } from './duration.js';

/** Webhooks: add one, the list (URLs come redacted from the hub), delete, and each one's delivery log. */
export function WebhooksTab() {
  const { api } = useServices();
  const [hooks, setHooks] = useState<Webhook[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [formProblem, setFormProblem] = useState<string | null>(null);
  const [url, setUrl] = useState('');
  const [name, setName] = useState('');
  const [open, setOpen] = useState<number | null>(null);

  const load = useCallback(() => {
    setProblem(null);
    api.get<{ webhooks: Webhook[] }>('/api/v1/webhooks').then(
      (r) => setHooks(r.webhooks),
      (err: unknown) => setProblem(problemText(err)),
    );
  }, [api]);
  useEffect(load, [load]);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setFormProblem(null);
    try {
      await api.post('/api/v1/webhooks', name.trim() === '' ? { url: url.trim() } : { url: url.trim(), name: name.trim() });
      setUrl('');
      setName('');
      load();
    } catch (err) {
      setFormProblem(problemText(err));
    }
  };
  const remove = async (w: Webhook) => {
    try {
      await api.delete(`/api/v1/webhooks/${w.id}`);
      load();
    } catch (err) {
      setProblem(problemText(err));
    }
  };

  return (
    <section className="panel" aria-label="Webhooks">
      <form className="alerts-form" onSubmit={(e) => void add(e)} aria-label="New webhook">
        <label>
          URL
          <input
            type="url"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            maxLength={2048}
            size={48}
            aria-label="Webhook URL"
            required
          />
        </label>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} aria-label="Webhook name" />
        </label>
        <button type="submit" className="button primary">
          Add webhook
        </button>
      </form>
      {formProblem && (
        <p className="form-error" role="alert" data-testid="webhook-problem">
          {formProblem}
        </p>
      )}
      {problem ? (
        <ErrorState title="The webhooks could not be loaded" message={problem} onRetry={load} />
      ) : hooks === null ? (
        <Loading label="Loading webhooks…" />
      ) : hooks.length === 0 ? (
        <Empty title="No webhooks">Firing and resolved alerts are POSTed to each webhook added here.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>URL (redacted)</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {hooks.map((w) => (
              <WebhookRow
                key={w.id}
                w={w}
                open={open === w.id}
                onToggle={() => setOpen(open === w.id ? null : w.id)}
                onDelete={() => void remove(w)}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface TestResult {
  delivered: boolean;
  status_code: number | null;
  error: string | null;
}

function WebhookRow({ w, open, onToggle, onDelete }: { w: Webhook; open: boolean; onToggle: () => void; onDelete: () => void }) {
  const { api } = useServices();
  const [test, setTest] = useState<string | null>(null);
  const sendTest = async () => {
    setTest('Sending…');
    try {
      const r = await api.post<TestResult>(`/api/v1/webhooks/${w.id}/test`, {});
      setTest(r.delivered ? `Test delivered (HTTP ${r.status_code})` : `Test failed: ${r.error ?? 'no answer'}`);
    } catch (err) {
      setTest(`Test failed: ${problemText(err)}`);
    }
  };
  return (
    <>
      <tr data-webhook-id={w.id}>
        <td>{w.name ?? ''}</td>
        <td>{w.url}</td>
        <td>
          <div className="alert-actions">
            <button type="button" className="button small" aria-expanded={open} onClick={onToggle}>
              Delivery log
            </button>
            <button type="button" className="button small" onClick={() => void sendTest()}>
              Send test
            </button>
            <button type="button" className="button small danger" onClick={onDelete}>
              Delete
            </button>
          </div>
          {test && (
            <p className="muted small" role="status" data-testid="webhook-test">
              {test}
            </p>
          )}
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={3}>
            <Deliveries webhookId={w.id} />
          </td>
        </tr>
      )}
    </>
  );
}

function Deliveries({ webhookId }: { webhookId: number }) {
  const { api } = useServices();
  const now = useNow(5000);
  const [list, setList] = useState<Delivery[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const load = useCallback(() => {
    api.get<{ deliveries: Delivery[] }>(`/api/v1/webhooks/${webhookId}/deliveries?limit=100`).then(
      (r) => setList(r.deliveries),
      (err: unknown) => setProblem(problemText(err)),
    );
  }, [api, webhookId]);
  useEffect(load, [load]);
  if (problem) return <ErrorState title="The delivery log could not be loaded" message={problem} onRetry={load} />;
  if (list === null) return <Loading label="Loading deliveries…" />;
  if (list.length === 0) return <Empty title="Nothing sent yet" />;
  return (
    <table className="table deliveries">
      <thead>
        <tr>
          <th>When</th>
          <th>Alert</th>
          <th>Kind</th>
          <th>Status</th>
          <th className="numeric">Attempts</th>
          <th>Last answer</th>
        </tr>
      </thead>
      <tbody>
        {list.map((d) => (
          <tr key={d.id} data-delivery-status={d.status}>
            <td title={d.delivery_id}>{formatAgo(d.created_at, now)}</td>
            <td>{d.alert_id}</td>
            <td>{d.kind}</td>
            <td>{d.status}</td>
            <td className="numeric">{d.attempts}</td>
            <td>
              {d.last_status_code ?? ''} {d.last_error ?? ''}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
