import { useState } from 'react';
import { AlertsTab } from './AlertsTab.js';
import { RulesTab } from './RulesTab.js';
import { SilencesTab } from './SilencesTab.js';
import { WebhooksTab } from './WebhooksTab.js';

type Tab = 'alerts' | 'silences' | 'rules' | 'webhooks';
const TABS: { key: Tab; label: string }[] = [
  { key: 'alerts', label: 'Alerts' },
  { key: 'silences', label: 'Silences' },
  { key: 'rules', label: 'Rules' },
  { key: 'webhooks', label: 'Webhooks' },
];

/** The alerts area: the alerts themselves, and the silences, rules and webhooks that shape them. */
export function AlertsPage() {
  const [tab, setTab] = useState<Tab>('alerts');
  return (
    <div className="page alerts-page">
      <div className="page-head">
        <h1>Alerts</h1>
        <div className="segmented" role="group" aria-label="Alerts area">
          {TABS.map((t) => (
            <button key={t.key} type="button" aria-pressed={tab === t.key} onClick={() => setTab(t.key)}>
              {t.label}
            </button>
          ))}
        </div>
      </div>
      {tab === 'alerts' && <AlertsTab />}
      {tab === 'silences' && <SilencesTab />}
      {tab === 'rules' && <RulesTab />}
      {tab === 'webhooks' && <WebhooksTab />}
    </div>
  );
}
