import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, ListWatch, Observable, Watch } from '@kubernetes/client-node';
import type { ConfigurationOptions, ObservableMiddleware, V1ConfigMap, V1ConfigMapList } from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { describeFailure } from '../registry/store.js';
import type { ApplyOutcome, RegistryStore } from '../registry/store.js';
import { RegistryEventRecorder } from './events.js';
import type { EventRecorderOptions } from './events.js';
import type { Freshness } from './freshness.js';
import { FORMAT_ANNOTATION, REVISION_ANNOTATION, unpackRegistry, UnpackError } from './packed-registry.js';
import { readFailure } from './read-failure.js';
import { describeSource } from './source.js';
import type { RegistryLocation, RegistrySource, SourceInfo } from './source.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export type ConfigMapLocation = Omit<Extract<RegistryLocation, { kind: 'configmap' }>, 'kind'>;

export interface ConfigMapSourceOptions {
  readonly logger: Logger;
  /** Credentials; by default KUBECONFIG, else the pod's service account, else ~/.kube/config. */
  readonly kubeConfig?: KubeConfig;
  /**
   * Reconnect delays: doubling from `initialMs` up to `maxMs`, each shortened by a random
   * fraction of up to half so that replicas cut off together do not reconnect in lockstep.
   * The same delays space re-reads of parts that are not (yet) those the index names.
   */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Source of the jitter, in [0, 1): Math.random unless a test fixes it. */
  readonly random?: () => number;
  /** Server-side watch timeout: the watch is re-opened at least this often. */
  readonly watchTimeoutSeconds?: number;
  /** Extra time past the server-side timeout before a silent (half-open) watch is abandoned. */
  readonly watchGraceMs?: number;
  /** How long `start()` waits for the first list before letting the service start unready. */
  readonly firstListTimeoutMs?: number;
  /** How long a list may take before it is abandoned as an error (a swallowed request must not stall reloads). */
  readonly listTimeoutMs?: number;
  /**
   * The staleness guard (`--max-staleness`): lists, watch events and bookmarks confirm the
   * registry; when they have been quiet for a third of the bound, a read of the object does.
   */
  readonly freshness?: Freshness;
  /** How often to look whether a confirming read is due; default a sixth of the bound. */
  readonly confirmEveryMs?: number;
  /** Kubernetes Events about each revision (on by default); `false` turns them off. */
  readonly events?: EventRecorderOptions | false;
}

/**
 * KUBECONFIG if set, else the in-cluster service account, else ~/.kube/config. Unlike the
 * client library's `loadFromDefault`, never falls back to http://localhost:8080, which could
 * be this very service.
 */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const config = new KubeConfig();
  const home = path.join(homedir(), '.kube', 'config');
  if (env.KUBECONFIG) {
    try {
      config.loadFromDefault();
    } catch (error) {
      // A raw ENOENT would not say that it was KUBECONFIG's. A read error names no path: then the whole list.
      const { code, path: file } = error as NodeJS.ErrnoException;
      if (code === undefined) throw error;
      throw new Error(`cannot read KUBECONFIG ${file ?? env.KUBECONFIG}: ${readFailure(error)}`);
    }
  } else if (existsSync(SERVICE_ACCOUNT_TOKEN)) config.loadFromCluster();
  else if (existsSync(home)) config.loadFromFile(home);
  else throw new Error('no Kubernetes credentials: set KUBECONFIG, or run in a pod with a service account token');
  return config;
}

/**
 * A watch that asks the server to end it after `timeoutSeconds`, and abandons it on the
 * client side if it has not ended `graceMs` later: a half-open connection then costs one
 * re-watch instead of stalling reloads forever. A watch whose request gets no answer at all in
 * that time (the client library waits for the response headers) ends as an error, so that the
 * source reports it and starts again with a list.
 */
class BoundedWatch extends Watch {
  private readonly timeoutSeconds: number;
  private readonly graceMs: number;
  private readonly onActivity: () => void;

  /** `onActivity` hears every event and bookmark: each proves the watch is alive and current. */
  constructor(config: KubeConfig, timeoutSeconds: number, graceMs: number, onActivity: () => void) {
    super(config);
    this.timeoutSeconds = timeoutSeconds;
    this.graceMs = graceMs;
    this.onActivity = onActivity;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    let ended = false;
    let abandoned = false;
    let unanswered = false;
    let watchdog: NodeJS.Timeout | undefined;
    const finish = (error: unknown) => {
      if (ended) return;
      ended = true;
      clearTimeout(watchdog);
      // An abandoned watch ended by our choice: re-watch at once rather than as an error.
      done(abandoned ? null : error);
    };
    const params = { ...queryParams, timeoutSeconds: this.timeoutSeconds, allowWatchBookmarks: true };
    // The client library's ListWatch drops bookmarks silently; they are heard here.
    const heard = (phase: string, apiObj: unknown, watchObj?: unknown) => {
      if (unanswered) return;
      if (phase !== 'ERROR') this.onActivity();
      callback(phase, apiObj, watchObj);
    };
    const limitMs = this.timeoutSeconds * 1000 + this.graceMs;
    const answered = setTimeout(() => {
      unanswered = true;
      finish(new Error(`the watch request got no answer within ${limitMs} ms`));
    }, limitMs);
    answered.unref();
    const controller = await super.watch(path, params, heard, finish).finally(() => clearTimeout(answered));
    if (unanswered) {
      // Answered at last, after it was given up: nothing it says is heard.
      controller.abort();
      return controller;
    }
    if (!ended) {
      watchdog = setTimeout(() => {
        abandoned = true;
        controller.abort();
      }, limitMs);
      watchdog.unref();
    }
    return controller;
  }
}

function describeError(error: unknown): string {
  const { statusCode, code, message } = error as { statusCode?: number; code?: number | string; message?: string };
  const status = statusCode ?? (typeof code === 'number' ? code : undefined);
  return [status, message].filter((part) => part !== undefined && part !== '').join(' ') || String(error);
}

/** Request options that abandon the request after `ms`: a read on a dead connection must not hang forever. */
export function timeoutOptions(ms: number): ConfigurationOptions<ObservableMiddleware> {
  const withSignal: ObservableMiddleware = {
    pre: (request) => {
      request.setSignal(AbortSignal.timeout(ms));
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [withSignal], middlewareMergeStrategy: 'append' };
}

function isNotFound(error: unknown): boolean {
  const { statusCode, code } = error as { statusCode?: number; code?: number };
  return statusCode === 404 || code === 404;
}

/** Doubling delays from `initialMs` to `maxMs`, each with jitter; `reset` starts over. */
class Backoff {
  private next: number;

  constructor(private readonly initialMs: number, private readonly maxMs: number, private readonly random: () => number) {
    this.next = initialMs;
  }

  take(): number {
    const base = this.next;
    this.next = Math.min(base * 2, this.maxMs);
    return Math.round(base * (1 - this.random() / 2));
  }

  reset(): void {
    this.next = this.initialMs;
  }
}

/**
 * Follows one ConfigMap through the Kubernetes API: list, then watch, with a `metadata.name`
 * field selector so that a Role limited to that one object by `resourceNames` suffices. The
 * client library's ListWatch relists on 410 Gone and re-watches when the server ends a watch;
 * on any other error it stops, so this source starts a fresh one (list, then watch) after a
 * delay that doubles from 1 s up to 30 s (with jitter) and resets once a watch delivers an event
 * or bookmark (a list that succeeds while watches keep failing does not reset it).
 *
 * A registry too large for one object is split into parts (packed-registry.ts) that the main
 * ConfigMap indexes. Only the main one is watched: it is applied after its parts, so when it
 * changes the parts are read by name (get). Parts that are not yet the indexed ones (an apply
 * in progress, or a part deleted by hand) keep the last good registry, are reported, and are
 * read again after a backoff delay until they are.
 */
export class ConfigMapSource implements RegistrySource {
  readonly info: SourceInfo;
  private readonly location: ConfigMapLocation;
  private readonly store: RegistryStore;
  private readonly options: ConfigMapSourceOptions;
  private readonly logger: Logger;
  private kubeConfig: KubeConfig | undefined;
  private api: CoreV1Api | undefined;
  private informer: ListWatch<V1ConfigMap> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly reconnects: Backoff;
  private readonly partRereads: Backoff;
  private partsTimer: NodeJS.Timeout | undefined;
  /** Counts ConfigMap versions seen: a slower read of an older one never applies after a newer one. */
  private generation = 0;
  /** The resourceVersion of the packed ConfigMap last loaded: seen again (a relist), its parts are not read again. */
  private packedVersion: string | undefined;
  private stopped = false;
  /** The last failure reported to the store, so that a lasting one is reported once. */
  private reported: string | undefined;
  private readonly freshness: Freshness | undefined;
  private confirmTimer: NodeJS.Timeout | undefined;
  private confirming = false;
  private events: RegistryEventRecorder | undefined;
  /** The ListWatch whose list last succeeded: until the current one has listed, nothing it holds is news. */
  private listedBy: ListWatch<V1ConfigMap> | undefined;

  constructor(location: ConfigMapLocation, store: RegistryStore, options: ConfigMapSourceOptions) {
    this.location = location;
    this.info = describeSource({ kind: 'configmap', ...location });
    this.store = store;
    this.options = options;
    this.logger = options.logger;
    const initialMs = options.backoff?.initialMs ?? 1000;
    const maxMs = options.backoff?.maxMs ?? 30_000;
    this.reconnects = new Backoff(initialMs, maxMs, options.random ?? Math.random);
    this.partRereads = new Backoff(initialMs, maxMs, options.random ?? Math.random);
    this.freshness = options.freshness;
  }

  private get what(): string {
    return `ConfigMap ${this.location.namespace}/${this.location.name}`;
  }

  async start(): Promise<void> {
    this.kubeConfig = this.options.kubeConfig ?? loadKubeConfig();
    this.api = this.kubeConfig.makeApiClient(CoreV1Api);
    if (this.options.events !== false) {
      this.events = new RegistryEventRecorder(this.api, this.location.namespace, this.logger, this.options.events);
    }
    this.startConfirming();
    const first = this.connect();
    await Promise.race([first, delay(this.options.firstListTimeoutMs ?? 10_000, undefined, { ref: false })]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.events?.stop();
    clearInterval(this.confirmTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.partsTimer);
    await this.informer?.stop();
  }

  /** A fresh ListWatch: it lists first, so state missed while disconnected is caught up. */
  private connect(): Promise<void> {
    const { namespace, name } = this.location;
    const fieldSelector = `metadata.name=${name}`;
    const informer: ListWatch<V1ConfigMap> = new ListWatch<V1ConfigMap>(
      `/api/v1/namespaces/${namespace}/configmaps`,
      new BoundedWatch(this.kubeConfig!, this.options.watchTimeoutSeconds ?? 300, this.options.watchGraceMs ?? 30_000, () => {
        this.reconnects.reset();
        this.freshness?.confirm();
      }),
      (): Promise<V1ConfigMapList> => this.list(informer, fieldSelector),
      false,
      undefined,
      fieldSelector,
    );
    // ListWatch does not re-check `stopped` after its list returns, so a replaced informer
    // can still deliver events and open a watch: ignore it and stop it again.
    const live = (): boolean => {
      if (!this.stopped && informer === this.informer) return true;
      void informer.stop();
      return false;
    };
    informer.on('add', (configMap) => { if (live()) this.onConfigMap(configMap); });
    informer.on('update', (configMap) => { if (live()) this.onConfigMap(configMap); });
    informer.on('delete', () => {
      if (!live()) return;
      this.newGeneration();
      this.report(`${this.what} was deleted; keeping the last good registry`);
    });
    informer.on('error', (error) => { if (live()) this.onError(informer, error); });
    this.informer = informer;
    return informer.start();
  }

  private async list(informer: ListWatch<V1ConfigMap>, fieldSelector: string): Promise<V1ConfigMapList> {
    const list = await this.api!.listNamespacedConfigMap(
      { namespace: this.location.namespace, fieldSelector }, timeoutOptions(this.options.listTimeoutMs ?? 30_000),
    );
    this.listedBy = informer;
    this.freshness?.confirm();
    if (list.items.length === 0 && !informer.get(this.location.name, this.location.namespace)) {
      this.report(`${this.what} not found`);
    }
    return list;
  }

  private newGeneration(): number {
    this.packedVersion = undefined;
    clearTimeout(this.partsTimer);
    this.partRereads.reset();
    return ++this.generation;
  }

  private onConfigMap(configMap: V1ConfigMap): void {
    const sourceVersion = configMap.metadata?.resourceVersion;
    if (sourceVersion !== undefined && sourceVersion === this.packedVersion) {
      // The packed object already served, seen again (a relist after an error): whatever was
      // reported since is over, as re-applying the same v1 text would say.
      this.reported = undefined;
      this.store.sourceRecovered(sourceVersion);
      return;
    }
    const generation = this.newGeneration();
    const text = configMap.data?.[this.location.key];
    if (text !== undefined && configMap.metadata?.annotations?.[FORMAT_ANNOTATION] === undefined) {
      // The v1 form: nothing to read or inflate, so it is handed over at once.
      this.reported = undefined;
      void this.store.applyAsync(text, { sourceVersion }).then((outcome) => this.tell(configMap, outcome));
      return;
    }
    void this.loadPacked(configMap, generation);
  }

  private async loadPacked(configMap: V1ConfigMap, generation: number): Promise<void> {
    const current = () => generation === this.generation && !this.stopped;
    let unpacked;
    try {
      unpacked = await unpackRegistry(configMap, this.location, (name) => this.readPart(name));
    } catch (error) {
      if (!current()) return;
      const known = error instanceof UnpackError;
      this.report(known ? `${this.what} ${error.message}` : `cannot read the parts of ${this.what}: ${describeError(error)}`);
      if (known && !error.waiting) this.tell(configMap, 'rejected');
      // Parts change apart from the main object, which is all that is watched: look again.
      if (!known || error.waiting) {
        this.partsTimer = setTimeout(() => { if (current()) void this.loadPacked(configMap, generation); }, this.partRereads.take());
      }
      return;
    }
    if (!current()) return;
    this.reported = undefined;
    const sourceVersion = configMap.metadata?.resourceVersion;
    const outcome = await this.store.applyAsync(unpacked.document, { sourceVersion, revision: unpacked.revision });
    if (outcome !== 'rejected' && current()) this.packedVersion = sourceVersion;
    this.tell(configMap, outcome);
  }

  /** One part by name, or undefined when it does not exist. */
  private async readPart(name: string): Promise<V1ConfigMap | undefined> {
    try {
      return await this.api!.readNamespacedConfigMap({ name, namespace: this.location.namespace });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private onError(informer: ListWatch<V1ConfigMap>, error: unknown): void {
    const delayMs = this.reconnects.take();
    const message = `cannot list or watch ${this.what}: ${describeError(error)}`;
    this.logger.warn({ source: this.info.name, error: describeError(error), retry_in_ms: delayMs }, 'kubernetes API error; will reconnect');
    this.report(message);
    void informer.stop();
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.stopped) void this.connect();
    }, delayMs);
  }

  /** Records what this replica did with a version of the ConfigMap as an Event (fire and forget). */
  private tell(configMap: V1ConfigMap, outcome: ApplyOutcome): void {
    if (!this.events || this.stopped) return;
    if (outcome === 'loaded' || outcome === 'unchanged') {
      const revision = this.store.snapshot()?.registry.revision;
      if (revision === undefined) return;
      if (outcome === 'loaded') this.events.loaded(configMap, revision);
      else this.events.stillServing(configMap, revision);
    } else if (outcome === 'rejected') {
      const failure = this.store.status().last_error;
      const errors = failure ? describeFailure({ ...failure, at: new Date(failure.at) }) : 'rejected';
      this.events.rejected(configMap, configMap.metadata?.annotations?.[REVISION_ANNOTATION], errors);
    }
  }

  /**
   * Bookmarks arrive about once a minute, so a quiet watch alone cannot confirm within a short
   * bound: when nothing has confirmed for a third of it, read the object by name. The read
   * confirms only if it shows the version the watch delivered; a newer one means the watch
   * missed a change, so it is replaced (a fresh list catches up and confirms).
   */
  private startConfirming(): void {
    const freshness = this.freshness;
    if (!freshness) return;
    const dueAfterMs = freshness.maxStalenessMs / 3;
    const everyMs = this.options.confirmEveryMs ?? Math.max(Math.floor(freshness.maxStalenessMs / 6), 50);
    this.confirmTimer = setInterval(() => {
      freshness.notice();
      if (this.confirming || freshness.quietMs() < dueAfterMs) return;
      this.confirming = true;
      void this.confirmByRead(freshness, dueAfterMs).finally(() => {
        this.confirming = false;
        freshness.notice();
      });
    }, everyMs);
    this.confirmTimer.unref();
  }

  private async confirmByRead(freshness: Freshness, timeoutMs: number): Promise<void> {
    const { namespace, name } = this.location;
    let seen: string | undefined;
    try {
      const configMap = await this.api!.readNamespacedConfigMap({ name, namespace }, timeoutOptions(Math.max(Math.ceil(timeoutMs), 100)));
      seen = configMap.metadata?.resourceVersion;
    } catch (error) {
      if (!isNotFound(error)) {
        this.logger.debug({ source: this.info.name, error: describeError(error) }, 'confirming read failed');
        return;
      }
    }
    const informer = this.informer;
    // A ListWatch that has not listed yet (its list failed, and a retry is due) holds nothing to
    // compare: the retry's backoff is in charge, not this read.
    if (this.stopped || !informer || this.listedBy !== informer) return;
    const delivered = informer.get(name, namespace)?.metadata?.resourceVersion;
    if (seen === delivered) {
      freshness.confirm();
      return;
    }
    this.logger.warn({ source: this.info.name, read_version: seen ?? null, watched_version: delivered ?? null }, 'the watch is behind the ConfigMap; listing again');
    void informer.stop();
    clearTimeout(this.retryTimer);
    void this.connect();
  }

  private report(message: string): void {
    if (message === this.reported) return;
    this.reported = message;
    this.store.fail(message);
  }
}
