import type { GpuDevice } from '@vigil/protocol';
import { formatAgo, formatDateTime, formatGb, formatNumber, formatPercent } from '../ui/format.js';
import { vramUsedPercent } from './gpus.js';

/**
 * One row per GPU of the agent's latest heartbeat that carried them: model, VRAM used of total (and
 * the agent's own share), utilisation, temperature, power. A chart per GPU would need per-GPU
 * history, which the hub does not keep yet.
 */
export function GpuTable({ gpus, reportedAt, now }: { gpus: GpuDevice[]; reportedAt: number | undefined; now: number }) {
  return (
    <>
      <table className="table gpu-table">
        <caption className="visually-hidden">GPUs</caption>
        <thead>
          <tr>
            <th scope="col">GPU</th>
            <th scope="col">Model</th>
            <th scope="col" className="numeric">
              VRAM used
            </th>
            <th scope="col" className="numeric">
              This agent
            </th>
            <th scope="col" className="numeric">
              Utilisation
            </th>
            <th scope="col" className="numeric">
              Temperature
            </th>
            <th scope="col" className="numeric">
              Power
            </th>
          </tr>
        </thead>
        <tbody>
          {gpus.map((g) => (
            <tr key={`${g.index}-${g.uuid ?? ''}`} data-gpu-index={g.index}>
              <td>
                {g.index}
                {g.uuid !== undefined && (
                  <>
                    {' '}
                    <span className="agent-id" title={g.bus_id ?? undefined}>
                      {g.uuid}
                    </span>
                  </>
                )}
              </td>
              <td>{g.name || '—'}</td>
              <td className="numeric" title={formatPercent(vramUsedPercent(g))}>
                {formatGb(g.vram_used_gb)} of {formatGb(g.vram_total_gb)}
              </td>
              <td className="numeric">{formatGb(g.process_vram_gb)}</td>
              <td className="numeric">{formatPercent(g.utilization_percent)}</td>
              <td className="numeric">{g.temperature_c === undefined ? '—' : `${formatNumber(g.temperature_c)} °C`}</td>
              <td className="numeric">{g.power_w === undefined ? '—' : `${formatNumber(g.power_w)} W`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {reportedAt !== undefined && (
        <p className="muted small">
          Reported <span title={formatDateTime(reportedAt)}>{formatAgo(reportedAt, now)}</span>
        </p>
      )}
    </>
  );
}
