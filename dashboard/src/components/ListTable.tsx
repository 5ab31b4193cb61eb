import type { ReactNode } from 'react';
import type { Resource } from '../state/context';
import { asList } from '../pages/list';
import { ResourceView } from './ResourceView';

/** One column heading; `label` may be a node (e.g. a screen-reader-only text). */
export interface Column {
  label: ReactNode;
  className?: string;
}

/**
 * A resource that holds a list, shown as a table: the resource's loading and error states, a note when the list is
 * empty, else one row per item as `row` renders it.
 */
export function ListTable<T>({
  resource,
  what,
  listKey,
  empty,
  className,
  columns,
  row,
}: {
  resource: Resource<unknown>;
  what: string;
  listKey: string;
  empty: string;
  className: string;
  columns: Column[];
  row: (item: T) => ReactNode;
}) {
  return (
    <ResourceView resource={resource} what={what}>
      {(data) => {
        const list = asList<T>(data, listKey);
        if (list.length === 0) return <p className="note">{empty}</p>;
        return (
          <div className="table-wrap">
            <table className={className}>
              <thead>
                <tr>
                  {columns.map((c, i) => (
                    <th key={i} scope="col" className={c.className}>{c.label}</th>
                  ))}
                </tr>
              </thead>
              <tbody>{list.map(row)}</tbody>
            </table>
          </div>
        );
      }}
    </ResourceView>
  );
}
