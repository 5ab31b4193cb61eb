import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Incident } from '../api/types';
import { IncidentDetail, IncidentTimeline } from './IncidentTimeline';

const resolved: Incident = {
  id: 'inc-1', service: 'web', instanceId: 'web-0', cause: 'crash', status: 'resolved',
  summary: 'process exited unexpectedly (killed by signal 9)',
  failedAt: '2026-01-02T03:04:05.000Z', detectedAt: '2026-01-02T03:04:05.002Z', mitigatedAt: '2026-01-02T03:04:06.250Z', resolvedAt: '2026-01-02T03:04:16Z',
  timeToDetectMs: 2, timeToMitigateMs: 1248,
  evidence: { exit: 'killed by signal 9', rule: 'lifecycle.alive.exited' },
  actions: [{
    id: 'act-1', agent: 'healer', kind: 'restart', subject: 'web-0', reason: 'restart 1 after crash', rule: 'lifecycle.crash.restart',
    status: 'succeeded', outcome: 'pid 4242', createdAt: '2026-01-02T03:04:05.010Z', evidence: { backoff: '200ms' },
  }],
};
const open: Incident = {
  id: 'inc-2', service: 'worker', cause: 'crash_loop', status: 'escalated', needsHuman: true,
  failedAt: '2026-01-02T03:05:00Z', detectedAt: '2026-01-02T03:05:01.5Z', timeToDetectMs: 1500, timeToMitigateMs: null,
};

describe('IncidentTimeline', () => {
  it('explains that there are no incidents', () => {
    render(<IncidentTimeline incidents={[]} />);
    expect(screen.getByRole('status').textContent).toContain('No incidents.');
  });

  it('lists incidents in the order given with cause, place, status, time to detect and to mitigate', () => {
    render(<IncidentTimeline incidents={[open, resolved]} selectedId="inc-1" />);
    const items = screen.getAllByRole('listitem');
    expect(items.map((i) => i.dataset.incident)).toEqual(['inc-2', 'inc-1']);

    const first = within(items[0]);
    expect(first.getByText('crash loop')).toBeTruthy();
    expect(first.getByText('worker')).toBeTruthy();
    expect(first.getByText('needs a human')).toBeTruthy();
    expect(items[0].textContent).toContain('detected in 1.50 s');
    expect(items[0].textContent).toContain('mitigated in …');

    const second = within(items[1]);
    expect(second.getByText('resolved').className).toContain('badge-ok');
    expect(items[1].textContent).toContain('detected in 2 ms');
    expect(items[1].textContent).toContain('mitigated in 1.25 s');
    expect(second.getByRole('link').getAttribute('aria-current')).toBe('true');
    expect(second.getByRole('link').getAttribute('href')).toBe('/incidents/inc-1');
  });
});

describe('IncidentDetail', () => {
  it('shows the four phases, the evidence and each action with its rule and outcome', () => {
    const { container } = render(<IncidentDetail incident={resolved} />);
    expect(container.querySelectorAll('.phases li.done')).toHaveLength(4);
    expect(screen.getByText('killed by signal 9')).toBeTruthy();
    const row = screen.getByRole('cell', { name: 'restart' }).closest('tr') as HTMLElement;
    expect(within(row).getByText('lifecycle.crash.restart')).toBeTruthy();
    expect(within(row).getByText('succeeded')).toBeTruthy();
    expect(within(row).getByText('pid 4242')).toBeTruthy();
  });

  it('leaves phases that have not happened open and says mitigation is pending', () => {
    const { container } = render(<IncidentDetail incident={open} />);
    expect([...container.querySelectorAll('.phases li')].map((li) => li.className)).toEqual(['done', 'done', 'pending', 'pending']);
    expect(screen.getByText('not yet')).toBeTruthy();
    expect(screen.getByText('No evidence recorded.')).toBeTruthy();
    expect(screen.getByText('No actions recorded.')).toBeTruthy();
  });
});
