import { formatBytes } from './format';

export type UploadState = 'idle' | 'uploading' | 'done' | 'failed';

/** A labelled progress bar with bytes and percentage; announces completion and failure to screen readers. */
export function UploadProgress({ name, loaded, total, state, error }: {
  name: string;
  loaded: number;
  total: number;
  state: UploadState;
  error?: string;
}) {
  if (state === 'idle') return null;
  const percent = total > 0 ? Math.min(100, Math.round((loaded / total) * 100)) : 0;
  return (
    <div className={`upload upload-${state}`}>
      <label htmlFor="upload-progress">
        {state === 'uploading' && `Uploading ${name}…`}
        {state === 'done' && `Uploaded ${name}`}
        {state === 'failed' && `Upload of ${name} failed`}
      </label>
      <progress id="upload-progress" max={100} value={state === 'done' ? 100 : percent} aria-valuetext={`${percent}%`} />
      <span className="upload-numbers" aria-live="polite">
        {formatBytes(loaded)} of {formatBytes(total)} ({state === 'done' ? 100 : percent}%)
      </span>
      {error && <p className="alert" role="alert">{error}</p>}
    </div>
  );
}
