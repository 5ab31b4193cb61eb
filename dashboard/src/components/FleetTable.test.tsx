import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { InstanceRecord, ServiceStatus } from '../api/types';
import { FleetTable } from './FleetTable';

const now = Date.parse('2026-01-02T03:05:00Z');

function instance(id: string, state: InstanceRecord['state'], extra: Partial<InstanceRecord> = {}): InstanceRecord {
  const [service, index] = [id.replace(/-\d+$/, ''), Number(id.split('-').pop())];
  return { id, service, index, state, restarts: 0, updatedAt: '2026-01-02T03:04:00Z', ...extra };
}

describe('FleetTable', () => {
  it('says there are no services yet instead of showing an empty table', () => {
    render(<FleetTable services={[]} now={now} />);
    expect(screen.getByRole('status').textContent).toContain('No services yet.');
    expect(screen.queryByRole('table')).toBeNull();
  });

  it('shows ready / desired replicas, health, restarts and every instance with its state', () => {
    const services: ServiceStatus[] = [
      {
        name: 'web', replicas: 2, ready: 1, instances: [
          instance('web-0', 'ready', { pid: 1111, port: 8081, readySince: '2026-01-02T03:04:30Z', reason: 'readiness probe passing' }),
          instance('web-1', 'backoff', { port: 8082, restarts: 3, reason: 'exit code 1' }),
        ],
      },
      { name: 'worker', replicas: 1, ready: 1, instances: [instance('worker-0', 'ready', { pid: 2222 })] },
    ];
    const { container } = render(<FleetTable services={services} now={now} />);

    const web = container.querySelector('tbody[data-service="web"]') as HTMLElement;
    expect(within(web).getByLabelText('1 of 2 replicas ready').textContent).toBe('1/2');
    expect(within(web).getByText('degraded')).toBeTruthy();
    const web0 = web.querySelector('tr[data-instance="web-0"]') as HTMLElement;
    expect(web0.dataset.state).toBe('ready');
    expect([...web0.querySelectorAll('td')].map((td) => td.textContent)).toEqual(['web-0', 'ready', 'yes', '0', '1111', '8081', '30 s ago', 'readiness probe passing']);
    const web1 = web.querySelector('tr[data-instance="web-1"]') as HTMLElement;
    expect(within(web1).getByText('backoff').className).toContain('badge-warn');
    expect(within(web1).getByText('exit code 1')).toBeTruthy();
    // The service row sums its instances' restarts.
    expect(web.querySelector('tr.service-row td.num')?.textContent).toBe('3');

    const worker = container.querySelector('tbody[data-service="worker"]') as HTMLElement;
    expect(within(worker).getByText('healthy')).toBeTruthy();
    expect(within(worker).getByRole('link', { name: 'worker' }).getAttribute('href')).toBe('/services/worker');
  });

  it('badges a quarantined instance beside its state, and only that one', () => {
    const services: ServiceStatus[] = [
      {
        name: 'web', replicas: 2, ready: 2, instances: [
          instance('web-0', 'ready', { pid: 1111, quarantined: true }),
          instance('web-1', 'ready', { pid: 1112 }),
        ],
      },
    ];
    const { container } = render(<FleetTable services={services} now={now} />);

    const web0 = container.querySelector('tr[data-instance="web-0"]') as HTMLElement;
    const badge = within(web0).getByText('quarantined');
    expect(badge.className).toContain('badge-bad');
    // It keeps running: its state badge is still there, in the same cell.
    const cell = badge.closest('td') as HTMLElement;
    expect(within(cell).getByText('ready').className).toContain('badge-ok');
    expect(cell.textContent).toBe('ready quarantined');
    const web1 = container.querySelector('tr[data-instance="web-1"]') as HTMLElement;
    expect(within(web1).queryByText('quarantined')).toBeNull();
  });

  it('marks a service scaled to zero as stopped, not degraded', () => {
    render(<FleetTable services={[{ name: 'batch', replicas: 0, ready: 0, instances: [] }]} now={now} />);
    expect(screen.getByText('stopped')).toBeTruthy();
    expect(screen.queryByText('degraded')).toBeNull();
  });
});
