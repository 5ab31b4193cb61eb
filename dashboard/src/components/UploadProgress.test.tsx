import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../api/client';
import { UploadProgress } from './UploadProgress';
import { objectUrl, uploadObject, type UploadProgressEvent } from './upload';

/** Stands in for the browser's XMLHttpRequest (happy-dom would try the network): records what is sent, replays progress. */
class FakeXhr {
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: unknown;
  status = 0;
  responseText = '';
  responseType = '';
  private responseHeaders: Record<string, string> = {};
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  open(method: string, url: string) { this.method = method; this.url = url; }
  setRequestHeader(name: string, value: string) { this.headers[name] = value; }
  getResponseHeader(name: string) { return this.responseHeaders[name.toLowerCase()] ?? null; }
  send(body: unknown) { this.body = body; }
  abort() { this.onabort?.(); }
  progress(loaded: number, total: number) { this.upload.onprogress?.({ loaded, total, lengthComputable: true } as ProgressEvent); }
  respond(status: number, body: string, type = 'application/json') {
    this.status = status;
    this.responseText = body;
    this.responseHeaders['content-type'] = type;
    this.onload?.();
  }
}

describe('uploadObject', () => {
  it('PUTs the file to the object key with the API key, reports progress and resolves with the answer', async () => {
    const xhr = new FakeXhr();
    const file = new File(['x'.repeat(1000)], 'report.csv', { type: 'text/csv' });
    const progress: UploadProgressEvent[] = [];
    const { done } = uploadObject({ store: 'data', key: 'reports/2026 q1.csv', file, apiKey: 'k1', onProgress: (p) => progress.push(p), createXhr: () => xhr as unknown as XMLHttpRequest });

    expect(xhr.method).toBe('PUT');
    expect(xhr.url).toBe('/api/v1/objects/data/reports/2026%20q1.csv');
    expect(xhr.headers.Authorization).toBe('Bearer k1');
    expect(xhr.headers['Content-Type']).toBe('text/csv');
    expect(xhr.body).toBe(file);
    xhr.progress(250, 1000);
    xhr.progress(1000, 1000);
    xhr.respond(201, '{"key":"reports/2026 q1.csv","size":1000}');
    await expect(done).resolves.toEqual({ key: 'reports/2026 q1.csv', size: 1000 });
    expect(progress.map((p) => p.loaded)).toEqual([250, 1000, 1000]);
  });

  it('rejects with the problem detail, and with UnauthorizedError on 401', async () => {
    const tooBig = new FakeXhr();
    const a = uploadObject({ store: 's', key: 'k', file: new Blob(['a']), apiKey: null, onProgress: () => {}, createXhr: () => tooBig as unknown as XMLHttpRequest });
    tooBig.respond(413, '{"title":"too large","detail":"the limit is 1 GiB"}', 'application/problem+json');
    await expect(a.done).rejects.toThrow('too large: the limit is 1 GiB');

    const denied = new FakeXhr();
    let signedOut = false;
    const b = uploadObject({ store: 's', key: 'k', file: new Blob(['a']), apiKey: 'old', onProgress: () => {}, onUnauthorized: () => { signedOut = true; }, createXhr: () => denied as unknown as XMLHttpRequest });
    denied.respond(401, '');
    await expect(b.done).rejects.toBeInstanceOf(UnauthorizedError);
    expect(signedOut).toBe(true);
  });

  it('can be cancelled', async () => {
    const xhr = new FakeXhr();
    const { done, abort } = uploadObject({ store: 's', key: 'k', file: new Blob(['a']), apiKey: null, onProgress: () => {}, createXhr: () => xhr as unknown as XMLHttpRequest });
    abort();
    await expect(done).rejects.toThrow('cancelled');
  });

  it('encodes each key segment but keeps the slashes', () => {
    expect(objectUrl('my store', '/a b/c#d/')).toBe('/api/v1/objects/my%20store/a%20b/c%23d');
  });
});

describe('UploadProgress', () => {
  it('renders nothing before an upload starts', () => {
    const { container } = render(<UploadProgress name="f" loaded={0} total={0} state="idle" />);
    expect(container.innerHTML).toBe('');
  });

  it('shows the percentage and bytes while uploading', () => {
    render(<UploadProgress name="big.bin" loaded={512 * 1024} total={2 * 1024 * 1024} state="uploading" />);
    const bar = screen.getByLabelText('Uploading big.bin…') as HTMLProgressElement;
    expect(bar.value).toBe(25);
    expect(bar.getAttribute('aria-valuetext')).toBe('25%');
    expect(screen.getByText('512.0 KiB of 2.0 MiB (25%)')).toBeTruthy();
  });

  it('fills the bar when done and shows the error when it failed', () => {
    const { rerender } = render(<UploadProgress name="a" loaded={10} total={10} state="done" />);
    expect((screen.getByLabelText('Uploaded a') as HTMLProgressElement).value).toBe(100);
    rerender(<UploadProgress name="a" loaded={3} total={10} state="failed" error="network error" />);
    expect(screen.getByRole('alert').textContent).toBe('network error');
    expect(screen.getByLabelText('Upload of a failed')).toBeTruthy();
  });
});
