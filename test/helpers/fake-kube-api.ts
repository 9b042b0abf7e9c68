import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * A protocol-level fake of the Kubernetes API for one namespace's ConfigMaps: list, get by
 * name and chunked watch JSON (with bookmarks on request), and the namespace's Events (create,
 * get, merge patch), with faults a real API server will not produce on demand (a stream cut
 * mid-event, 410 Gone, 500s, a malformed event, a slow list, a half-open watch, a silent
 * network). The real API server is tested in test/k8s/; this fake is for the faults.
 */

interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name: string; namespace: string; resourceVersion: string; uid: string; annotations?: Record<string, string> };
  data: Record<string, string>;
  binaryData?: Record<string, string>;
}

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: ConfigMap;
}

export interface RecordedRequest {
  readonly watch: boolean;
  readonly query: URLSearchParams;
  /** Set for a read of one ConfigMap by name. */
  readonly name?: string;
}

/** A core v1 Event as the fake stores it (only the fields tests look at are typed). */
export interface StoredEvent {
  metadata: { name: string; annotations?: Record<string, string> };
  reason: string;
  message: string;
  count: number;
  reportingInstance: string;
  involvedObject: { kind: string; name: string; uid?: string };
  [field: string]: unknown;
}

export class FakeKubeApi {
  readonly namespace: string;
  readonly name: string;
  readonly requests: RecordedRequest[] = [];
  private server: Server | undefined;
  private rv = 100;
  private current: ConfigMap | undefined;
  private history: WatchEvent[] = [];
  /** Watches asking for a resourceVersion older than this get 410 Gone. */
  private compactedBefore = 0;
  private readonly watches = new Set<ServerResponse>();
  private listFaults: ({ status: number } | { delayMs: number })[] = [];
  private halfOpen = false;
  private silent = false;
  /** Requests that arrived while silent: never answered, cut when the network comes back. */
  private readonly held = new Set<ServerResponse>();
  readonly events = new Map<string, StoredEvent>();
  /** Requests on the Events API, answered or refused. */
  eventRequests = 0;
  private eventRefusal: number | undefined;
  /** How many of the next list / watch requests get no answer at all, ever (a request lost on the way). */
  private readonly swallow = { list: 0, watch: 0 };
  private watchRefusal: number | undefined;
  private waiters: { predicate: (r: RecordedRequest) => boolean; resolve: () => void }[] = [];

  constructor(namespace = 'flex-auth', name = 'flex-auth-registry') {
    this.namespace = namespace;
    this.name = name;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const response of this.watches) response.destroy();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  kubeConfig(): KubeConfig {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake', token: 'not-a-secret' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace: this.namespace }],
      currentContext: 'fake',
    });
    return config;
  }

  /**
   * Creates or updates the ConfigMap and tells open watches. A created one gets a new uid, as
   * after a delete. `packed` carries a packed form's annotations and binaryData.
   */
  put(data: Record<string, string>, packed: { annotations?: Record<string, string>; binaryData?: Record<string, string> } = {}): string {
    this.rv += 1;
    const type = this.current ? 'MODIFIED' : 'ADDED';
    const uid = this.current?.metadata.uid ?? `uid-${this.rv}`;
    this.current = {
      apiVersion: 'v1', kind: 'ConfigMap', data, ...(packed.binaryData ? { binaryData: packed.binaryData } : {}),
      metadata: { name: this.name, namespace: this.namespace, resourceVersion: String(this.rv), uid, ...(packed.annotations ? { annotations: packed.annotations } : {}) },
    };
    this.publish({ rv: this.rv, type, object: this.current });
    return String(this.rv);
  }

  delete(): void {
    if (!this.current) return;
    this.rv += 1;
    const object = { ...this.current, metadata: { ...this.current.metadata, resourceVersion: String(this.rv) } };
    this.current = undefined;
    this.publish({ rv: this.rv, type: 'DELETED', object });
  }

  /** Changes the ConfigMap without telling open watches (as if the change happened during a disconnect). */
  putQuietly(data: Record<string, string>): void {
    const watches = [...this.watches];
    this.watches.clear();
    this.put(data);
    watches.forEach((w) => this.watches.add(w));
  }

  /** Cuts every open watch in the middle of an event line. */
  cutWatchesMidEvent(): void {
    for (const response of this.watches) {
      response.write('{"type":"MODIFIED","object":{"kind":"Config');
      response.destroy();
    }
    this.watches.clear();
  }

  /** Sends a line that is not JSON to every open watch. */
  sendMalformedEvent(): void {
    for (const response of this.watches) response.write('this is not json\n');
  }

  /** Forgets history: watches from older resource versions now get 410 Gone. */
  compact(): void {
    this.compactedBefore = this.rv;
  }

  /** Sends a 410 Gone ERROR event on every open watch and ends it. */
  expireWatches(): void {
    this.compact();
    for (const response of this.watches) {
      response.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 } })}\n`);
    }
    this.watches.clear();
  }

  failNextLists(count: number, status = 500): void {
    for (let i = 0; i < count; i += 1) this.listFaults.push({ status });
  }

  delayNextList(delayMs: number): void {
    this.listFaults.push({ delayMs });
  }

  /**
   * A network that drops everything: open watches stay open but hear nothing (a change made
   * meanwhile is lost to them), new requests get no answer. Back on, the unanswered ones are cut.
   */
  setSilent(value: boolean): void {
    this.silent = value;
    if (value) return;
    for (const response of this.held) response.destroy();
    this.held.clear();
  }

  /** The next `count` list or watch requests are recorded and never answered, whatever the network does later. */
  swallowNext(kind: 'list' | 'watch', count = 1): void {
    this.swallow[kind] += count;
  }

  /** Answers every watch request with this status (403 as a Role without `watch`), lists still working; undefined: watches work again. */
  refuseWatches(status: number | undefined): void {
    this.watchRefusal = status;
  }

  /** Answers every Events request with this status from now on (403 as without RBAC, 503 as overloaded). */
  refuseEvents(status: number): void {
    this.eventRefusal = status;
  }

  /** Sends a BOOKMARK at the current resourceVersion to every watch that asked for bookmarks. */
  sendBookmark(): void {
    const bookmark = { type: 'BOOKMARK', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } } };
    for (const response of this.watches) {
      if ((response as ServerResponse & { bookmarks?: boolean }).bookmarks) response.write(`${JSON.stringify(bookmark)}\n`);
    }
  }

  /** Watches stay open and silent, ignoring timeoutSeconds, like a half-open connection. */
  setHalfOpen(value: boolean): void {
    this.halfOpen = value;
  }

  count(predicate: (r: RecordedRequest) => boolean): number {
    return this.requests.filter(predicate).length;
  }

  /** Resolves when a request matching `predicate` arrives (already-recorded ones do not count). */
  nextRequest(predicate: (r: RecordedRequest) => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching request within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ predicate, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  private publish(event: WatchEvent): void {
    this.history.push(event);
    if (this.silent) return;
    for (const response of this.watches) response.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.silent) {
      this.held.add(res);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const expectedPath = `/api/v1/namespaces/${this.namespace}/configmaps`;
    const eventsPath = `/api/v1/namespaces/${this.namespace}/events`;
    if (url.pathname.startsWith(eventsPath)) {
      this.event(req, res, decodeURIComponent(url.pathname.slice(eventsPath.length + 1)));
      return;
    }
    if (req.method === 'GET' && url.pathname === `${expectedPath}/${this.name}`) {
      this.requests.push({ watch: false, query: url.searchParams, name: this.name });
      if (this.current) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.current));
      else notFound(res);
      return;
    }
    if (req.method !== 'GET' || url.pathname !== expectedPath) {
      notFound(res);
      return;
    }
    const recorded = { watch: url.searchParams.get('watch') === 'true', query: url.searchParams };
    this.requests.push(recorded);
    this.waiters = this.waiters.filter((w) => (w.predicate(recorded) ? (w.resolve(), false) : true));
    const kind = recorded.watch ? 'watch' : 'list';
    if (this.swallow[kind] > 0) {
      this.swallow[kind] -= 1;
      return;
    }
    if (recorded.watch && this.watchRefusal !== undefined) {
      res.writeHead(this.watchRefusal, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: this.watchRefusal, message: 'injected fault' }));
      return;
    }
    if (recorded.watch) this.watch(url.searchParams, res);
    else this.list(res);
  }

  private list(res: ServerResponse): void {
    const fault = this.listFaults.shift();
    const respond = () => {
      const body = { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items: this.current ? [this.current] : [] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (fault && 'status' in fault) {
      res.writeHead(fault.status, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: fault.status, message: 'injected fault' }));
    } else if (fault) {
      setTimeout(respond, fault.delayMs);
    } else {
      respond();
    }
  }

  private watch(query: URLSearchParams, res: ServerResponse): void {
    const from = Number(query.get('resourceVersion') ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders(); // a real API server answers a watch at once, before any event
    if (from < this.compactedBefore) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } })}\n`);
      return;
    }
    for (const event of this.history) {
      if (event.rv > from) res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    }
    (res as ServerResponse & { bookmarks?: boolean }).bookmarks = query.get('allowWatchBookmarks') === 'true';
    this.watches.add(res);
    res.on('close', () => this.watches.delete(res));
    const timeoutSeconds = Number(query.get('timeoutSeconds'));
    if (!this.halfOpen && timeoutSeconds > 0) {
      const timer = setTimeout(() => { this.watches.delete(res); res.end(); }, timeoutSeconds * 1000);
      res.on('close', () => clearTimeout(timer));
    }
  }

  /** Events: create (409 when the name exists), read by name, merge patch. */
  private event(req: IncomingMessage, res: ServerResponse, name: string): void {
    this.eventRequests += 1;
    if (this.eventRefusal !== undefined) {
      res.writeHead(this.eventRefusal, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: this.eventRefusal }));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      const existing = this.events.get(name);
      if (req.method === 'POST' && name === '') {
        const created = body as unknown as StoredEvent;
        if (this.events.has(created.metadata.name)) return json(409, { kind: 'Status', code: 409, reason: 'AlreadyExists' });
        this.events.set(created.metadata.name, created);
        return json(201, created);
      }
      if (!existing) return notFound(res);
      if (req.method === 'GET') return json(200, existing);
      if (req.method === 'PATCH') {
        // A JSON merge patch, one level into metadata (all an Event patch touches).
        const { metadata, ...rest } = body as { metadata?: { annotations?: Record<string, string> } };
        Object.assign(existing, rest);
        if (metadata?.annotations) existing.metadata.annotations = { ...existing.metadata.annotations, ...metadata.annotations };
        return json(200, existing);
      }
      return notFound(res);
    });
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404}');
}
