// Coloured state labels. Colour is never the only signal: the text says the state.
const tones: Record<string, string> = {
  ready: 'ok', running: 'info', starting: 'info', pending: 'muted', unready: 'warn', stopping: 'muted',
  exited: 'bad', backoff: 'warn', fatal: 'bad', stopped: 'muted',
  open: 'bad', mitigated: 'warn', resolved: 'ok', escalated: 'bad',
  intent: 'info', succeeded: 'ok', failed: 'bad', skipped: 'muted',
  queued: 'muted', cancelled: 'muted', completed: 'ok',
  live: 'ok', connecting: 'muted', reconnecting: 'warn', polling: 'info', unauthorized: 'bad',
  cold: 'info', warm: 'ok', high: 'bad', critical: 'bad', medium: 'warn', low: 'muted',
};

export function Badge({ value, tone }: { value: string; tone?: string }) {
  return <span className={`badge badge-${tone ?? tones[value] ?? 'muted'}`}>{value.replace(/_/g, ' ')}</span>;
}
