/**
 * The gateway as a request handler built from features, in the manner of Hive Gateway's runtime: no socket here
 * (server.ts listens, main.ts and cluster.ts run processes), so the handler can be mounted in any node:http server.
 *
 * A feature (`useX` in its own module) owns its routes, its Apollo Server plugins and options, the resources it
 * holds, and its part of a GraphQL request, in the order the features are listed:
 *   onRequest    before the body is read (admission: wait for a slot, or answer 503);
 *   onOperation  with the request's parameters and caller (authentication, persisted queries: may answer instead);
 *   onResponse   with Apollo's answer, before it is written (the Cache-Tag header).
 * `start()` starts them in order, then Apollo Server (the supergraph); `stop()` stops Apollo, then them in reverse.
 * gateway/ARCHITECTURE.md walks one request through the code.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApolloGateway } from '@apollo/gateway';
import { trace, type Attributes } from '@opentelemetry/api';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { answerOf, useAdmission, useInboundDedup, type Execution } from './admission/admissionControl.js';
import { applyApolloTelemetryChoice } from './apolloTelemetry.js';
import { Authenticator, useAuthentication } from './auth/authenticator.js';
import { useCacheTagHeader } from './cache/cacheTagHeader.js';
import { useInvalidationEndpoint } from './cache/invalidationEndpoint.js';
import { SharedEntityCache, applyEviction, sharedInvalidator } from './cache/sharedEntityCache.js';
import { systemClock, type Clock } from './clock.js';
import type { GatewayConfig } from './config.js';
import { createReadPath } from './datasource/readPath.js';
import type { StreamSelectionSet } from './datasource/streamSelections.js';
import type { Answered, GatewayFeature, IncomingOperation, RouteHandler, UpgradeHandler } from './feature.js';
import { ChangeCoverage } from './events/changeCoverage.js';
import { useChangeEvents } from './events/invalidationListener.js';
import { withExecutor } from './execution/compiledExecutor.js';
import { gatewayInternals, loadDataRewrites, loadedApiSchema } from './execution/gatewayInternals.js';
import { initialPayload, writeMultipart } from './execution/incrementalDelivery.js';
import { inServerSpan, useTracing } from './telemetry/tracing.js';
import { useExplorer } from './explorer/explorerRoute.js';
import { BodyTooLargeError, applyCors, endWithEntityTag, incrementalFormatOf, onHangUp, readBody, sendJson, sendRequestError, wantsEventStream } from './http.js';
import { jsonLogger, type Logger } from './logger.js';
import { GatewayMetrics, useMetrics } from './metrics/registry.js';
import { useExploration } from './persisted/exploration.js';
import { PersistedQueryGate, usePersistedQueries } from './persisted/persistedQueries.js';
import { RedisLink, useRedis } from './redis/redisLink.js';
import { Cancellation, GatewayRequest, requestIdOf, REQUEST_ID_HEADER, stringifyAnswer, type Caller, type GatewayContext } from './request.js';
import { useSubscriptions } from './subscriptions/useSubscriptions.js';
import type { LiveAnswer } from './subscriptions/liveQueries.js';
import { supergraphOption } from './supergraphLoader.js';
import { integer, text, type SettingGroup } from './settings.js';
import { DEFER_VALIDATION_RULES, liveOverHttp } from './validation/directiveRules.js';
import { rootOperationTypesPlugin } from './validation/rootOperationTypes.js';

export interface GatewayDeps {
  logger?: Logger;
  /** Every reading of time and every timer of the gateway; tests pass a clock they move by hand. */
  clock?: Clock;
  /** What /metrics answers; a cluster worker answers with every worker's metrics (cluster.ts). */
  metricsText?: () => Promise<string>;
  /** A deployment's own features, after the gateway's (their hooks run last, and they stop first). */
  features?: readonly GatewayFeature[];
}

export interface GatewayRuntime {
  /** Answers one HTTP request: /graphql (and /), /health, /ready, and the features' routes. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Takes over a connection upgraded to another protocol (the WebSocket at /graphql); refuses any other. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Starts the features, then loads the supergraph; GraphQL answers 503 GATEWAY_NOT_READY until it has. If it
   * fails, stop() releases what the features hold.
   */
  start(): Promise<void>;
  /** From now on every answer closes its connection and /ready answers 503, so clients move elsewhere. */
  drain(): void;
  /**
   * Stops Apollo Server, then every feature in reverse order, once however often it is called. Call it after the
   * requests in flight are done.
   */
  stop(): Promise<void>;
  gateway: ApolloGateway;
  metrics: GatewayMetrics;
  /** The connection to Redis (REDIS_URL), null without one. */
  redis: RedisLink | null;
  /** The second cache level in Redis, null without Redis or without the entity cache. */
  sharedCache: SharedEntityCache | null;
  /** How each source of evictions stands; `coverage.whenReady()` resolves once every listener follows its source. */
  coverage: ChangeCoverage;
  /** Drops every cached copy of one entity (change events call this); returns how many were dropped. */
  invalidateEntity(typename: string, keyFields: Record<string, unknown>): number;
}

export function createGatewayRuntime(config: GatewayConfig, deps: GatewayDeps = {}): GatewayRuntime {
  const logger = deps.logger ?? jsonLogger(config.logLevel);
  const clock = deps.clock ?? systemClock;
  // Before ApolloGateway exists: its metrics exporter would otherwise start on construction.
  applyApolloTelemetryChoice(config.apolloTelemetry);
  const metrics = new GatewayMetrics({ processMetrics: true });
  const coverage = new ChangeCoverage({ clock, logger, metrics });
  // Redis (optional): the shared second cache level, evictions heard by every process, APQ registrations.
  const redis = config.redis ? new RedisLink({ url: config.redis.url, timeoutMs: config.redis.timeoutMs, clock, logger, metrics }) : null;
  const sharedCache = redis && config.readPath.entityCache ? new SharedEntityCache(redis, {
    prefix: config.redis!.keyPrefix,
    clock,
    // Only the invalidation endpoint broadcasts; Redis stays optional, so /ready does not wait for it.
    ...(config.invalidationSecret !== null ? { evictionsHeard: coverage.source('redis evictions', { gatesReadiness: false }) } : {}),
  }) : null;
  // Registered before anything may start a span; stopped last, so it flushes what the others ended.
  const tracing = useTracing(config.tracing);
  const { tracer } = tracing;
  const readPath = createReadPath(config.readPath, config.subgraphUrls, metrics, logger, clock, {
    evictedByEvents: config.invalidation !== null || config.invalidationSecret !== null,
    coverage,
    sharedCache,
    tracer,
  });
  sharedCache?.onRemoteEviction((eviction) => applyEviction(readPath.cache!, eviction));
  const invalidator = sharedCache ? sharedInvalidator(readPath, sharedCache) : readPath;
  const inboundDedup = config.inboundDedup ? useInboundDedup(metrics) : null;
  const authenticator = new Authenticator(config.identity);
  const gate = PersistedQueryGate.fromConfig(config);
  // Planned when a supergraph loads: the queries by the executor, the subscriptions by the streams.
  const warm = config.planWarmup ? config.persistedQueries.manifest?.manifest.operations ?? [] : [];
  const subscriptions = config.streams.enabled ? useSubscriptions(config.streams, {
    gate,
    warm,
    readPath,
    clock,
    logger,
    metrics,
    authenticator,
    operationBudgetMs: config.readPath.operationBudgetMs,
    maxBodyBytes: config.maxBodyBytes,
    runQuery: (params, caller, selections) => runStreamedQuery(params, caller, selections),
  }) : null;

  const features: GatewayFeature[] = [
    tracing,
    useMetrics(metrics, deps.metricsText),
    ...(redis ? [useRedis(redis, sharedCache)] : []),
    { name: 'read path', stop: () => readPath.close() },
    // Before the supergraph loads: a source reached meanwhile has nothing cached to revalidate yet. Every process
    // hears every event itself, so Redis is cleaned and nothing is broadcast.
    ...(config.invalidation ? [useChangeEvents(config.invalidation, coverage, sharedCache ? sharedInvalidator(readPath, sharedCache, { broadcast: false }) : readPath, { logger, clock })] : []),
    useInvalidationEndpoint(config, invalidator),
    useExplorer(config, logger),
    useExploration(config),
    ...(subscriptions ? [subscriptions] : []),
    useAdmission(config.admission, clock, metrics),
    useAuthentication(authenticator),
    usePersistedQueries(config, redis, gate),
    ...(config.cacheTagHeader ? [useCacheTagHeader()] : []),
    ...(inboundDedup ? [inboundDedup] : []),
    ...(deps.features ?? []),
  ];

  const gateway = new ApolloGateway({
    ...supergraphOption(config.supergraph, logger),
    logger,
    buildService: (definition) => readPath.buildService(definition),
    // Plans carry `@defer` (Defer nodes), which the compiled executor runs; stock's is given operations without it.
    ...(config.defer ? { queryPlannerConfig: { incrementalDelivery: { enableDefer: true } } } : {}),
  });
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => readPath.supergraphLoaded(coreSupergraphSdl));
  const executor = withExecutor(gateway, { executor: config.executor, defer: config.defer, warm }, logger, readPath, clock);
  const apollo = new ApolloServer<GatewayContext>({
    gateway: executor.gateway,
    logger,
    introspection: config.introspection,
    nodeEnv: config.mode === 'production' ? 'production' : 'development',
    // Stack traces never leave the gateway, whatever NODE_ENV says.
    includeStacktraceInErrorResponses: false,
    // The process owns its signals (main.ts): it drains first. Apollo's own handler would stop Apollo while the
    // requests in flight still run, and a second stop() during its stop waits forever (docs/APOLLO-NOTES.md).
    stopOnTerminationSignals: false,
    // Batches are checked operation by operation (and their size) by the persisted-query feature first.
    allowBatchedHttpRequests: config.queryLimits.maxBatchOperations > 1,
    // Compact JSON: Apollo's default pretty-prints every answer, a cost per byte that no client reads.
    stringifyResult: stringifyAnswer,
    ...Object.assign({}, ...features.map((feature) => feature.apolloOptions ?? {})),
    plugins: [...features.flatMap((feature) => feature.apolloPlugins ?? []), rootOperationTypesPlugin(), executor.plugin],
    validationRules: [...(config.defer ? DEFER_VALIDATION_RULES : []), liveOverHttp],
  });

  const routes = new Map<string, RouteHandler>([
    ['/health', (_req, res) => sendJson(res, 200, { status: 'ok' })],
    ['/ready', (_req, res) => sendReady(res)],
    ['/graphql', serveGraphQL],
    ['/', serveGraphQL],
  ]);
  for (const feature of features) {
    for (const [path, handler] of Object.entries(feature.routes ?? {})) {
      if (routes.has(path)) throw new Error(`${feature.name} routes ${path}, which is taken`);
      routes.set(path, handler);
    }
  }
  const upgrades = new Map<string, UpgradeHandler>();
  for (const feature of features) {
    for (const [path, handler] of Object.entries(feature.upgrades ?? {})) {
      if (upgrades.has(path)) throw new Error(`${feature.name} takes upgrades at ${path}, which is taken`);
      upgrades.set(path, handler);
    }
  }
  const eventStreams = features.find((feature) => feature.eventStreams)?.eventStreams ?? null;
  const onRequest = features.flatMap((feature) => (feature.onRequest ? [feature.onRequest.bind(feature)] : []));
  const onOperation = features.flatMap((feature) => (feature.onOperation ? [feature.onOperation.bind(feature)] : []));
  const onResponse = features.flatMap((feature) => (feature.onResponse ? [feature.onResponse.bind(feature)] : []));
  const varyHeaders = [...new Set(features.flatMap((feature) => feature.varyHeaders ?? []))];
  // With @defer, the same GET is one JSON body or parts, by the client's Accept: a shared cache must tell them apart.
  const answerVaries = config.defer ? [...varyHeaders, 'accept'] : varyHeaders;

  let supergraphLoaded = false;
  let draining = false;
  /** Answers not yet finished: when draining starts, each is told to close its connection after it is sent. */
  const unanswered = new Set<ServerResponse>();

  function handle(req: IncomingMessage, res: ServerResponse): void {
    // While draining, every answer closes its connection, so kept-alive clients move to another process.
    if (draining) res.setHeader('connection', 'close');
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
    route(req, res).catch((error: unknown) => {
      logger.error('request failed', { error: String((error as Error)?.message ?? error) });
      if (!res.headersSent) sendRequestError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      else res.destroy();
    });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (!applyCors(req, res, config.corsOrigins, varyHeaders)) return sendRequestError(res, 403, 'CORS_ORIGIN_NOT_ALLOWED', 'Origin not allowed');
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const { pathname } = url;
    const slash = pathname.indexOf('/', 1);
    const handler = routes.get(pathname) ?? routes.get(`${slash === -1 ? pathname : pathname.slice(0, slash)}/*`);
    if (!handler) return sendRequestError(res, 404, 'NOT_FOUND', `No route ${pathname}; GraphQL is served at /graphql`);
    return handler(req, res, url);
  }

  function sendReady(res: ServerResponse): void {
    // Redis is optional: its absence is reported, never a reason to take the gateway out of rotation.
    const changes = coverage.report();
    const report = {
      redis: redis ? { configured: true, reachable: redis.status === 'up' } : { configured: false },
      ...(Object.keys(changes).length > 0 ? { changes } : {}),
    };
    if (draining) return sendJson(res, 503, { status: 'stopping', ...report });
    // Ready once the supergraph is loaded and every change listener has followed its source: answers cached
    // before that are revalidated, so a rename made meanwhile is never missed.
    const ready = supergraphLoaded && coverage.ready;
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'starting', ...report });
  }

  /** Traced: the request's span (telemetry/tracing.ts). */
  function serveGraphQL(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    return tracer ? inServerSpan(tracer, req, res, url, () => serveOperation(req, res, url)) : serveOperation(req, res, url);
  }

  async function serveOperation(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!supergraphLoaded) return sendRequestError(res, 503, 'GATEWAY_NOT_READY', 'The gateway is still loading its supergraph');
    const arrivedAtMs = clock.now();
    const requestId = requestIdOf(req.headers);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    // Listened for before anything waits: a caller that goes away cancels the subgraph calls only it was waiting for.
    const gone = new Cancellation();
    onHangUp(res, () => gone.abort());
    // A stream holds no admission slot: each event or re-run it causes has a budget of its own.
    if (eventStreams && wantsEventStream(req.headers.accept)) return eventStreams(req, res, url);
    for (const step of onRequest) if ((await step(req, res)) === 'answered') return;
    const admittedAtMs = clock.now();
    const read = await readOperationBody(req, res);
    if (read === 'answered') return;
    const operation: IncomingOperation = { req, res, params: { method: req.method ?? 'GET', search: url.search, body: read.body }, caller: null };
    for (const step of onOperation) if ((await step(operation)) === 'answered') return;
    const span = tracer && trace.getActiveSpan();
    if (span) span.setAttributes({ ...operationAttributes(operation.params), 'gateway.request_id': requestId, 'gateway.admission.wait_ms': admittedAtMs - arrivedAtMs });
    const execute = (cancellation: Cancellation) => executeOperation(operation, { id: requestId, admittedAtMs, cancellation });
    const { request, response, cancellation, shared } = inboundDedup ? await inboundDedup.answer(operation, gone, execute) : answerOf(await execute(gone), false);
    if (span) span.setAttributes({ 'gateway.incremental': request.incremental !== null, ...(shared ? { 'gateway.deduplicated_with': request.id } : {}) });
    const parts = request.incrementalAnswer;
    const inParts = parts !== null && (response.status ?? 200) === 200 && response.body.kind === 'complete';
    // Headers leave with the first part, before the freshness of the later ones is known: no HTTP cache keeps it.
    if (inParts) response.headers.set('cache-control', 'no-store');
    else if (parts) cancellation.abort();
    for (const [key, value] of response.headers) res.setHeader(key, value);
    for (const step of onResponse) step(operation, request, response);
    res.statusCode = response.status ?? 200;
    if (span && request.staleServed.length > 0) span.setAttribute('gateway.stale_served', request.staleServed.length);
    if (inParts && response.body.kind === 'complete') return writeMultipart(res, initialPayload(response.body.string, parts, request.incremental!), parts, request.incremental!);
    if (response.body.kind === 'complete') return endWithEntityTag(req, res, request.answerBytes ?? response.body.string, answerVaries);
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A client that goes away mid-handshake must not take the process with it.
    socket.on('error', () => socket.destroy());
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://gateway').pathname;
    } catch {
      pathname = '';
    }
    const handler = upgrades.get(pathname);
    if (!handler || !supergraphLoaded || draining) {
      const status = handler ? '503 Service Unavailable' : '404 Not Found';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    handler(req, socket, head);
  }

  /**
   * A query a streaming transport runs (once, or again for a live query): through Apollo Server and the executor
   * as over HTTP, as a request of its own for `caller`; with the cache tags of what its answer showed.
   */
  async function runStreamedQuery(params: { query: string; operationName?: string; variables: Record<string, unknown>; extensions?: Record<string, unknown> }, caller: Caller | null, streamSelections?: StreamSelectionSet): Promise<LiveAnswer> {
    const request = new GatewayRequest({
      id: randomUUID(),
      admittedAtMs: clock.now(),
      operationBudgetMs: config.readPath.operationBudgetMs,
      cancellation: new Cancellation(),
      caller,
      headers: {},
      // Never written as bytes: the transport sends the result as JSON text.
      inBatch: true,
      streamSelections: streamSelections ?? null,
    });
    const response = await apollo.executeOperation(params, { contextValue: { gatewayRequest: request } });
    const body = response.body;
    const { data, errors, extensions } = body.kind === 'single' ? body.singleResult : body.initialResult;
    return {
      result: { ...(errors ? { errors } : {}), ...(data !== undefined ? { data } : {}), ...(extensions ? { extensions } : {}) },
      tags: request.cacheTags,
    };
  }

  /** Runs the operation through Apollo Server as a request of its own (GatewayRequest), cancelled by `cancellation`. */
  async function executeOperation(operation: IncomingOperation, { id, admittedAtMs, cancellation }: { id: string; admittedAtMs: number; cancellation: Cancellation }): Promise<Execution> {
    const { req } = operation;
    const inBatch = Array.isArray(operation.params.body);
    const request = new GatewayRequest({
      id,
      admittedAtMs,
      operationBudgetMs: config.readPath.operationBudgetMs,
      cancellation,
      caller: operation.caller,
      headers: req.headers,
      // A batch's answers share one body: each of them is whole.
      incremental: inBatch ? null : incrementalFormatOf(req.headers.accept),
      inBatch,
    });
    const headers = new HeaderMap();
    // Parts are written here (incrementalDelivery.ts); Apollo Server writes the first, or the whole answer, as JSON,
    // which is what it answers a request without an Accept header, without parsing one (negotiator's parse of an
    // Accept header was 6 µs of the deferred gig page, bench s4d).
    const skipped = request.incremental ? 'accept' : undefined;
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined && key !== skipped) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: operation.params.method, search: operation.params.search, body: operation.params.body, headers },
      context: async () => ({ gatewayRequest: request }),
    });
    return { request, response, cancellation };
  }

  /** The operation's persisted id, as its parameters give it (a GET's in its query string); its name comes later, from Apollo. */
  function operationAttributes({ body, search }: IncomingOperation['params']): Attributes {
    const single = (body !== null && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
    const query = new URLSearchParams(search);
    let extensions = single.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined;
    if (!extensions && query.has('extensions')) {
      try {
        extensions = JSON.parse(query.get('extensions')!);
      } catch {
        extensions = undefined;
      }
    }
    const persistedId = extensions?.persistedQuery?.sha256Hash;
    return {
      ...(typeof persistedId === 'string' ? { 'graphql.persisted_query.id': persistedId } : {}),
      ...(Array.isArray(body) ? { 'graphql.batch.size': body.length } : {}),
    };
  }

  /** A POST's body, parsed when it says it is JSON; a GET has none. Too large or malformed: answered here. */
  async function readOperationBody(req: IncomingMessage, res: ServerResponse): Promise<{ body: unknown } | Answered> {
    if (req.method !== 'POST') return { body: undefined };
    let raw: string;
    try {
      raw = await readBody(req, config.maxBodyBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      sendRequestError(res, 413, 'PAYLOAD_TOO_LARGE', error.message);
      return 'answered';
    }
    if (!(req.headers['content-type'] ?? '').includes('json')) return { body: raw };
    try {
      return { body: JSON.parse(raw) };
    } catch {
      sendRequestError(res, 400, 'BAD_REQUEST', 'Request body is not valid JSON');
      return 'answered';
    }
  }

  /** Every feature holds what it made from the moment it was made, started or not: all of them stop, once. */
  let stopped: Promise<void> | null = null;
  async function stopAll(): Promise<void> {
    draining = true;
    if (supergraphLoaded) await apollo.stop();
    for (const feature of [...features].reverse()) {
      try {
        await feature.stop?.();
      } catch (error) {
        logger.warn('a feature did not stop cleanly', { feature: feature.name, error: String((error as Error)?.message ?? error) });
      }
    }
  }

  /**
   * Subscriptions are planned against the supergraph loaded now, and each one after it; the manifest's, before the
   * gateway reports ready (and, for a later supergraph, while traffic goes on).
   */
  async function followSupergraph(streams: NonNullable<typeof subscriptions>['streams']): Promise<void> {
    const rewrites = await loadDataRewrites();
    const loaded = async () => {
      const internals = gatewayInternals(gateway, rewrites);
      const apiSchema = loadedApiSchema(gateway);
      if (internals && apiSchema) await streams.supergraphLoaded(internals, apiSchema);
      else logger.warn('subscriptions need the internals of @apollo/gateway 2.14 (its planner and schemas); this version does not have them, so every subscription is refused');
    };
    const first = loaded();
    gateway.onSchemaLoadOrUpdate(() => {
      loaded().catch((error) => logger.error('subscriptions could not follow the supergraph update', { error: String((error as Error)?.message ?? error) }));
    });
    await first;
  }

  return {
    handle,
    upgrade,
    async start() {
      for (const feature of features) await feature.start?.();
      await apollo.start();
      if (subscriptions) await followSupergraph(subscriptions.streams);
      supergraphLoaded = true;
    },
    drain() {
      draining = true;
      for (const res of unanswered) if (!res.headersSent) res.setHeader('connection', 'close');
      for (const feature of features) feature.drain?.();
    },
    stop: () => (stopped ??= stopAll()),
    gateway,
    metrics,
    redis,
    sharedCache,
    coverage,
    invalidateEntity: (typename, keyFields) => invalidator.invalidateEntity(typename, keyFields),
  };
}

/** What a request may be and who may send it. */
export const HTTP_SETTINGS = {
  maxBodyBytes: integer('REQUEST_MAX_BODY_BYTES', { default: 1_048_576, min: 1_024, max: 104_857_600, unit: 'bytes', formerly: ['MAX_BODY_BYTES'], doc: 'larger request bodies get 413 PAYLOAD_TOO_LARGE' }),
  corsOrigins: text('CORS_ORIGINS', { default: '*', values: 'origins, comma-separated, or *', doc: 'the browser origins allowed to call the gateway' }),
} satisfies SettingGroup;
