import type { CloudEvent, Incident } from '../api/types';
import { IncidentDetail, IncidentTimeline } from '../components/IncidentTimeline';
import { ResourceView } from '../components/ResourceView';
import { useResource } from '../state/context';
import { useTitle } from '../state/router';

const incidentEvents = (e: CloudEvent) => e.type.startsWith('incident.') || e.type === 'action.recorded';

export function IncidentsPage({ id }: { id?: string }) {
  useTitle(id ? 'Incident' : 'Incidents');
  const [list] = useResource<Incident[]>('/api/v1/incidents?limit=100', { refreshOn: incidentEvents });
  const [detail] = useResource<Incident>(id ? `/api/v1/incidents/${encodeURIComponent(id)}` : null, { refreshOn: incidentEvents });
  return (
    <>
      <h1>Incidents</h1>
      <div className={id ? 'split' : ''}>
        <section className="panel" aria-label="Incident timeline">
          <ResourceView resource={list} what="incidents">
            {(incidents) => <IncidentTimeline incidents={incidents} selectedId={id} />}
          </ResourceView>
        </section>
        {id && (
          <section className="panel">
            <ResourceView resource={detail} what="this incident">
              {(incident) => <IncidentDetail incident={incident} />}
            </ResourceView>
          </section>
        )}
      </div>
    </>
  );
}
