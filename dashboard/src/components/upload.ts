// Browser upload to PUT /api/v1/objects/{store}/{key} with XMLHttpRequest, which (unlike fetch) reports
// upload progress. The body is the file itself, streamed by the browser; the key goes in the Authorization header.
import { readResponse } from '../api/client';

export interface UploadProgressEvent {
  loaded: number;
  total: number;
}

export interface UploadRequest {
  store: string;
  key: string;
  file: Blob;
  apiKey: string | null;
  onProgress: (p: UploadProgressEvent) => void;
  onUnauthorized?: () => void;
  /** For tests: the XMLHttpRequest to use. */
  createXhr?: () => XMLHttpRequest;
}

export function objectUrl(store: string, key: string): string {
  const path = key.split('/').filter((p) => p.length > 0).map(encodeURIComponent).join('/');
  return `/api/v1/objects/${encodeURIComponent(store)}/${path}`;
}

export function uploadObject(request: UploadRequest): { done: Promise<unknown>; abort: () => void } {
  const xhr = request.createXhr ? request.createXhr() : new XMLHttpRequest();
  const done = new Promise<unknown>((resolve, reject) => {
    xhr.open('PUT', objectUrl(request.store, request.key));
    if (request.apiKey) xhr.setRequestHeader('Authorization', `Bearer ${request.apiKey}`);
    xhr.setRequestHeader('Content-Type', request.file.type || 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e: ProgressEvent) => {
      request.onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : request.file.size });
    };
    xhr.onload = () => {
      const headers = new Headers();
      const type = xhr.getResponseHeader('content-type');
      if (type) headers.set('content-type', type);
      // 204 and 304 may not carry a body in a Response.
      const body = xhr.status === 204 ? null : xhr.responseText;
      readResponse(new Response(body, { status: xhr.status, headers }), objectUrl(request.store, request.key), request.onUnauthorized)
        .then((value) => {
          request.onProgress({ loaded: request.file.size, total: request.file.size });
          resolve(value);
        })
        .catch(reject);
    };
    xhr.onerror = () => reject(new Error('the upload failed: network error'));
    xhr.onabort = () => reject(new Error('the upload was cancelled'));
    xhr.send(request.file);
  });
  return { done, abort: () => xhr.abort() };
}
