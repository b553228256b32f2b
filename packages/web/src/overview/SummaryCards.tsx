import type { ReactNode } from 'react';
import { Link } from '../app/navigation.js';
import { useFiring } from '../app/services.js';
import type { FleetSummaryView } from '../fleet/view.js';
import { formatCount, formatGb, formatMb, formatPercent } from '../ui/format.js';

export function SummaryCards({ s, loading }: { s: FleetSummaryView; loading: boolean }) {
  const active = s.online + s.busy;
  const memory = s.memoryMb === null ? null : s.memoryMb >= 10_240 ? formatGb(s.memoryMb / 1024) : formatMb(s.memoryMb);
  return (
    <section className="cards" aria-label="Fleet summary" aria-busy={loading}>
      <Card label="Active agents" value={`${formatCount(active)} / ${formatCount(s.total)}`} testId="card-active">
        {formatCount(s.online)} online · {formatCount(s.busy)} busy · {formatCount(s.offline)} offline
      </Card>
      <Card label="CPU load" value={formatPercent(s.avgCpu)} testId="card-cpu">
        mean over active agents
      </Card>
      <Card label="Memory" value={memory ?? '—'} testId="card-memory">
        used by active agents
      </Card>
      <Card label="Active errors" value={formatCount(s.errors)} tone={s.errors > 0 ? 'bad' : undefined} testId="card-errors">
        <Link to={{ page: 'errors' }}>See errors</Link>
      </Card>
      <FiringCard />
    </section>
  );
}

function FiringCard() {
  const firing = useFiring();
  return (
    <Card label="Firing alerts" value={formatCount(firing.count)} tone={firing.count > 0 ? 'bad' : undefined} testId="card-alerts">
      <Link to={{ page: 'alerts' }}>See alerts</Link>
    </Card>
  );
}

function Card({
  label,
  value,
  tone,
  testId,
  children,
}: {
  label: string;
  value: string;
  tone?: 'bad' | undefined;
  testId: string;
  children: ReactNode;
}) {
  return (
    <div className={tone ? `card ${tone}` : 'card'} data-testid={testId}>
      <div className="card-label">{label}</div>
      <div className="card-value">{value}</div>
      <div className="card-detail">{children}</div>
    </div>
  );
}
