import { useState, type FormEvent } from 'react';
import type { CapacityMatch, FittingGpu } from '../api/types.js';
import { Link } from '../app/navigation.js';
import { useServices } from '../app/services.js';
import { formatGb, formatNumber } from '../ui/format.js';
import { Empty, ErrorState, Loading } from '../ui/states.js';
import { ClaimsPanel } from './ClaimsPanel.js';

const GPU_TYPES = ['nvidia', 'amd', 'intel', 'apple'] as const;

/**
 * Which online agents could take a job needing N GB of VRAM on each of K GPUs and M cores
 * (`GET /api/v1/capacity`), best fit first, with the GPUs that fit.
 */
export function CapacityPage() {
  const { api } = useServices();
  const [form, setForm] = useState({ vram: '', gpus: '', cores: '', memory: '', pool: '', capability: '', gpu: '' });
  const [claimsVersion, setClaimsVersion] = useState(0);
  const [result, setResult] = useState<
    { kind: 'idle' } | { kind: 'loading' } | { kind: 'ready'; agents: CapacityMatch[] } | { kind: 'error'; message: string }
  >({
    kind: 'idle',
  });

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const q = new URLSearchParams();
    if (form.vram) q.set('min_gpu_vram_gb', form.vram);
    if (form.gpus) q.set('gpu_count', form.gpus);
    if (form.cores) q.set('min_cpu_cores', form.cores);
    if (form.memory) q.set('min_memory_gb', form.memory);
    if (form.pool.trim()) q.set('pool', form.pool.trim());
    if (form.capability.trim()) q.set('capability', form.capability.trim());
    if (form.gpu) q.set('gpu_type', form.gpu);
    q.set('limit', '200');
    setResult({ kind: 'loading' });
    try {
      const r = await api.get<{ agents: CapacityMatch[] }>(`/api/v1/capacity?${q.toString()}`);
      setResult({ kind: 'ready', agents: r.agents });
      setClaimsVersion((v) => v + 1);
    } catch (err) {
      setResult({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  };
  const field = (key: keyof typeof form) => ({
    value: form[key],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value })),
  });

  return (
    <div className="page">
      <div className="page-head">
        <h1>Capacity</h1>
        <span className="muted">
          Online agents with room for a job, smallest sufficient fit first. VRAM is free VRAM on one GPU. Free figures are what the agent
          measured less what active claims reserve.
        </span>
      </div>
      <form className="panel capacity-form" onSubmit={(e) => void submit(e)}>
        <label>
          VRAM free per GPU (GB)
          <input type="number" min="0" step="any" inputMode="decimal" {...field('vram')} />
        </label>
        <label>
          GPUs
          <input type="number" min="1" max="64" step="1" inputMode="numeric" placeholder="1" {...field('gpus')} />
        </label>
        <label>
          CPU cores free
          <input type="number" min="0" step="any" inputMode="decimal" {...field('cores')} />
        </label>
        <label>
          Memory free (GB)
          <input type="number" min="0" step="any" inputMode="decimal" {...field('memory')} />
        </label>
        <label>
          Pool
          <input type="text" {...field('pool')} />
        </label>
        <label>
          Capability
          <input type="text" {...field('capability')} />
        </label>
        <label>
          GPU type
          <select {...field('gpu')}>
            <option value="">Any</option>
            {GPU_TYPES.map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="button primary">
          Find agents
        </button>
      </form>
      <section className="panel" aria-live="polite">
        {result.kind === 'idle' && <Empty title="Describe the job">Enter what it needs and press Find agents.</Empty>}
        {result.kind === 'loading' && <Loading label="Searching…" />}
        {result.kind === 'error' && <ErrorState title="The query failed" message={result.message} onRetry={() => void submit()} />}
        {result.kind === 'ready' &&
          (result.agents.length === 0 ? (
            <Empty title="No online agent has that much room" />
          ) : (
            <table className="table">
              <caption className="visually-hidden">Agents that fit</caption>
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col">Pool</th>
                  <th scope="col" className="numeric">
                    VRAM free
                  </th>
                  <th scope="col" className="numeric">
                    Cores free
                  </th>
                  <th scope="col" className="numeric">
                    Memory free
                  </th>
                  <th scope="col" className="numeric">
                    Reserved
                  </th>
                  <th scope="col">GPU</th>
                  <th scope="col">GPUs that fit</th>
                </tr>
              </thead>
              <tbody>
                {result.agents.map((a) => (
                  <tr key={a.agent_id}>
                    <td>
                      <Link to={{ page: 'agent', agentId: a.agent_id }}>{a.name}</Link> <span className="agent-id">{a.agent_id}</span>
                    </td>
                    <td>{a.pool_name}</td>
                    <td className="numeric">{formatGb(less(a.resource_metrics.gpu_vram_available_gb, a.reserved.gpu_vram_gb))}</td>
                    <td className="numeric">{formatNumber(less(a.resource_metrics.cpu_cores_available, a.reserved.cpu_cores))}</td>
                    <td className="numeric">{formatGb(less(a.resource_metrics.memory_available_gb, a.reserved.memory_gb))}</td>
                    <td className="numeric">{reservedText(a.reserved)}</td>
                    <td>{a.resource_metrics.gpu_type ?? '—'}</td>
                    <td className="fitting-gpus">{fitting(a.fitting_gpus)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ))}
      </section>
      <ClaimsPanel version={claimsVersion} onReleased={() => void (result.kind === 'ready' && submit())} />
    </div>
  );
}

/** A measured free figure less what claims reserve of it. */
function less(measured: number | undefined, reserved: number): number | undefined {
  return measured === undefined ? undefined : measured - reserved;
}

/** `2 claims: 6 cores, 20.0 GB, 40.0 GB VRAM`, or a dash when nothing is reserved. */
function reservedText(r: CapacityMatch['reserved']): string {
  if (r.claims === 0) return '—';
  const parts = [
    r.cpu_cores ? `${formatNumber(r.cpu_cores)} cores` : '',
    r.memory_gb ? formatGb(r.memory_gb) : '',
    r.gpu_vram_gb ? `${formatGb(r.gpu_vram_gb)} VRAM` : '',
  ];
  return `${r.claims} claim${r.claims === 1 ? '' : 's'}: ${parts.filter(Boolean).join(', ') || 'nothing measured'}`;
}

/** `#1 GPU-1c2d… (80.0 GB free)`, one per fitting GPU; for agents that send no per-GPU figures, a note saying so. */
function fitting(gpus: FittingGpu[] | null | undefined): string {
  if (gpus === undefined) return '—';
  if (gpus === null) return 'no per-GPU figures (judged by the total)';
  return gpus.map((g) => `#${g.index}${g.uuid ? ` ${g.uuid}` : ''} (${formatGb(g.vram_free_gb)} free)`).join(', ');
}
