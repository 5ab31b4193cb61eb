import type { ReactNode } from 'react';
import type { Resource } from '../state/context';

/** Renders a resource's states uniformly; children get the data. */
export function ResourceView<T>({
  resource,
  what,
  children,
}: {
  resource: Resource<T>;
  what: string;
  children: (data: T) => ReactNode;
}) {
  switch (resource.kind) {
    case 'loading':
      return <p className="note" role="status">Loading {what}…</p>;
    case 'unavailable':
      return <NotAvailable what={what} />;
    case 'error':
      return (
        <>
          <p className="alert" role="alert">Could not load {what}: {resource.message}</p>
          {resource.data !== undefined && children(resource.data)}
        </>
      );
    default:
      return <>{children(resource.data)}</>;
  }
}

export function NotAvailable({ what }: { what: string }) {
  return (
    <div className="empty" role="status">
      <strong>{capitalize(what)}: not available on this server.</strong>
      <p>This control plane does not offer this part of the API yet; the rest of the dashboard works as usual.</p>
    </div>
  );
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
