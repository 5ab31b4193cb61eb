// The API client: every call carries the API key as a Bearer token; errors are typed so pages can say
// "sign in again" (401), "not available on this server" (404 on a whole endpoint) or show the problem detail.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
  }
}

/** 401: the key is missing, wrong or revoked. */
export class UnauthorizedError extends ApiError {
  constructor(detail?: string) {
    super(401, 'sign-in required', detail);
    this.name = 'UnauthorizedError';
  }
}

/** 404 or 405 on an endpoint this server does not have (an older or smaller control plane). */
export class NotAvailableError extends ApiError {
  constructor(path: string) {
    super(404, 'not available on this server', path);
    this.name = 'NotAvailableError';
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  key: string | null;
  fetch?: FetchLike;
  onUnauthorized?: () => void;
}

export class ApiClient {
  private readonly fetcher: FetchLike;

  constructor(private readonly options: ApiClientOptions) {
    this.fetcher = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  get key(): string | null {
    return this.options.key;
  }

  headers(extra?: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { Accept: 'application/json', ...extra };
    if (this.options.key) h.Authorization = `Bearer ${this.options.key}`;
    return h;
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, undefined, signal);
  }

  async post<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return this.request<T>('POST', path, body, signal);
  }

  async delete<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('DELETE', path, undefined, signal);
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const init: RequestInit = {
      method,
      headers: this.headers(body === undefined ? undefined : { 'Content-Type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    };
    const response = await this.fetcher(path, init);
    return (await readResponse(response, path, this.options.onUnauthorized)) as T;
  }
}

/** Turns a response into its JSON (or text) body, or throws the matching typed error. */
export async function readResponse(response: Response, path: string, onUnauthorized?: () => void): Promise<unknown> {
  const type = response.headers.get('content-type') ?? '';
  if (response.ok) {
    if (response.status === 204) return undefined;
    return type.includes('json') ? response.json() : response.text();
  }
  let title = response.statusText || `HTTP ${response.status}`;
  let detail: string | undefined;
  if (type.includes('json')) {
    try {
      const problem = (await response.json()) as { title?: string; detail?: string };
      title = problem.title ?? title;
      detail = problem.detail;
    } catch {
      // A body that is not JSON after all: keep the status text.
    }
  }
  if (response.status === 401) {
    onUnauthorized?.();
    throw new UnauthorizedError(detail);
  }
  // A 404 from the router ("Not Found", no detail, or the gateway's "no such endpoint") means this server lacks the
  // endpoint; a 404 with its own problem detail is "no such item" (e.g. an unknown incident id).
  if ((response.status === 404 && (detail === undefined || /^(not found|no such endpoint)$/i.test(title))) || response.status === 405) {
    throw new NotAvailableError(path);
  }
  throw new ApiError(response.status, title, detail);
}
