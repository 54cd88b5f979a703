/**
 * The web app's one way to the hub: the public API under /api/v1, with the signed-in user's access token. Every
 * page goes through it, so the app proves the API serves a client: no private endpoints, no shortcuts.
 * Errors are the API's problem+json answers, as ApiProblem.
 */

/** Where the current access token comes from (auth/session.ts); it refreshes it when needed. */
export interface TokenSource {
  /** A valid access token, refreshed first if it is about to expire; undefined when signed out. */
  accessToken(): Promise<string | undefined>;
  /** Called when the API refused the token (401): sign in again. */
  refused(): void;
}

/** The hub's problem+json body (hub/src/api/problem.ts). */
export interface ProblemBody {
  type?: string;
  title?: string;
  detail?: string;
  param?: string;
  requestId?: string;
}

/** An API answer that is not 2xx: RFC 9457 problem details as the hub sends them. */
export class ApiProblem extends Error {
  readonly status: number;
  /** The problem type's code, from the anchor of its `type` URI (`/api/v1/docs#problem-conflict` -> `conflict`). */
  readonly code: string | undefined;
  readonly param: string | undefined;
  readonly requestId: string | undefined;

  constructor(status: number, body: ProblemBody) {
    super(body.detail ?? body.title ?? `HTTP ${status}`);
    this.name = 'ApiProblem';
    this.status = status;
    this.code = /#problem-([a-z_]+)$/.exec(body.type ?? '')?.[1];
    this.param = body.param;
    this.requestId = body.requestId;
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

/** One page of a list, as every list route answers. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface ServerEvent {
  event: string;
  data: string;
}

export class Api {
  constructor(
    private readonly tokens: TokenSource,
    /** The hub's origin; the app is served by the hub, so same-origin by default. */
    private readonly base = '',
  ) {}

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  post<T>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', path, { body, query });
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body });
  }

  delete<T = void>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, { body });
  }

  /** Every page of a list route, up to `max` items. */
  async all<T>(path: string, query: Query = {}, max = 10_000): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const page: Page<T> = await this.get<Page<T>>(path, { ...query, limit: 100, ...(cursor ? { cursor } : {}) });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined && items.length < max);
    return items;
  }

  /** A file or archive (export routes), as a Blob. */
  async blob(path: string, query?: Query): Promise<Blob> {
    const response = await this.fetch('GET', path, { query });
    return response.blob();
  }

  /** Sends a file (import routes): the body is the file itself. */
  upload<T>(path: string, file: Blob, query?: Query): Promise<T> {
    return this.request<T>('POST', path, { query, raw: file });
  }

  /**
   * A Server-Sent Events stream (the live board), read with fetch so the token goes in the Authorization header;
   * reconnects are the caller's. Resolves when the stream ends; `signal` stops it.
   */
  async stream(path: string, onEvent: (event: ServerEvent) => void, signal: AbortSignal): Promise<void> {
    const response = await this.fetch('GET', path, { signal, accept: 'text/event-stream' });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) onEvent({ event, data: data.join('\n') });
      }
    }
  }

  private async request<T>(method: string, path: string, options: { body?: unknown; query?: Query | undefined; raw?: Blob }): Promise<T> {
    const response = await this.fetch(method, path, options);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  private async fetch(method: string, path: string, options: { body?: unknown; query?: Query | undefined; raw?: Blob; signal?: AbortSignal; accept?: string }): Promise<Response> {
    const token = await this.tokens.accessToken();
    const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
    if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
    let body: BodyInit | undefined;
    if (options.raw !== undefined) {
      body = options.raw;
      headers['Content-Type'] = options.raw.type || 'application/octet-stream';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] = 'application/json';
    }
    const response = await fetch(`${this.base}/api/v1${path}${queryString(options.query)}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (response.status === 401) this.tokens.refused();
    if (!response.ok) {
      const problem = (await response.json().catch(() => ({}))) as ProblemBody;
      throw new ApiProblem(response.status, problem);
    }
    return response;
  }
}

function queryString(query: Query | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
