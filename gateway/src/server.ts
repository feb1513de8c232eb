/**
 * Builds the gateway: ApolloGateway (query planning and execution over our data source) inside Apollo Server,
 * served by a plain node:http server with `/health`, `/ready` and `/graphql`. Returns `{ url, stop }` so tests
 * start exactly what `main.ts` starts, on port 0.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { AdmissionControl } from './admission/admissionControl.js';
import { eventLoopLag } from './admission/loopLag.js';
import { applyApolloTelemetryChoice } from './apolloTelemetry.js';
import { Authenticator, sendUnauthenticated } from './auth/authenticator.js';
import type { GatewayConfig } from './config.js';
import { withExecutor } from './execution/compiledExecutor.js';
import { ChangeCoverage } from './events/changeCoverage.js';
import { startInvalidationListener } from './events/invalidationListener.js';
import { createReadPath } from './datasource/readPath.js';
import { cacheTagHeader } from './cache/cacheTagHeader.js';
import { handleInvalidation } from './cache/invalidationEndpoint.js';
import { systemClock, type Clock } from './clock.js';
import { GatewayRequest, requestIdOf, REQUEST_ID_HEADER, type GatewayContext } from './request.js';
import { BodyTooLargeError, applyCors, readBody, sendJson, sendRequestError } from './http.js';
import { rootOperationTypesPlugin } from './validation/rootOperationTypes.js';
import { jsonLogger, type Logger } from './logger.js';
import { createExplorerRoute, isExplorerPath } from './explorer/explorerRoute.js';
import { explorationSetup } from './persisted/exploration.js';
import { sendRefusal } from './persisted/persistedErrors.js';
import { PersistedQueryGate } from './persisted/persistedQueries.js';
import { endWithEntityTag } from './persisted/responseEtag.js';
import { GatewayMetrics } from './metrics/registry.js';
import { RedisLink } from './redis/redisLink.js';
import { SharedEntityCache, applyEviction, sharedInvalidator } from './cache/sharedEntityCache.js';
import { SharedApqStore } from './persisted/sharedApqStore.js';
import { supergraphOption } from './supergraphLoader.js';

export interface RunningGateway {
  url: string;
  port: number;
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
  stop(): Promise<void>;
}

export interface GatewayDeps {
  logger?: Logger;
  /** Every reading of time and every timer of the gateway; tests pass a clock they move by hand. */
  clock?: Clock;
  /** What /metrics answers; a cluster worker answers with every worker's metrics (cluster.ts). */
  metricsText?: () => Promise<string>;
}

export async function startGateway(config: GatewayConfig, deps: GatewayDeps = {}): Promise<RunningGateway> {
  const logger = deps.logger ?? jsonLogger(config.logLevel);
  const clock = deps.clock ?? systemClock;
  applyApolloTelemetryChoice(config.apolloTelemetry);
  // Reads and checks the manifest: a bad file stops start-up here, with its path in the message.
  const persisted = PersistedQueryGate.fromConfig(config);
  // Reads the JWKS file, when configured: a bad one stops start-up here, naming JWT_JWKS_FILE.
  const authenticator = new Authenticator(config.identity);
  const exploration = explorationSetup(config);
  const explorer = createExplorerRoute(config, logger);
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
  const readPath = createReadPath(config.readPath, config.subgraphUrls, metrics, logger, clock, {
    evictedByEvents: config.invalidation !== null || config.invalidationSecret !== null,
    coverage,
    sharedCache,
  });
  sharedCache?.onRemoteEviction((eviction) => applyEviction(readPath.cache!, eviction));
  const invalidator = sharedCache ? sharedInvalidator(readPath, sharedCache) : readPath;
  const admissionControl = new AdmissionControl(config.admission, clock, eventLoopLag());
  metrics.gauge('gateway_operations_in_progress', 'Operations admitted and not yet answered', () => admissionControl.inProgress);
  metrics.gauge('gateway_operations_queued', 'Operations waiting to be admitted', () => admissionControl.queued);
  metrics.gauge('gateway_admission_limit', 'Operations allowed in progress at once (adapts to event-loop lag)', () => admissionControl.limit);

  const gateway = new ApolloGateway({
    ...supergraphOption(config.supergraph, logger),
    logger,
    buildService: (definition) => readPath.buildService(definition),
  });
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => readPath.supergraphLoaded(coreSupergraphSdl));
  const apollo = new ApolloServer({
    gateway: withExecutor(gateway, config.executor, logger, readPath),
    logger,
    introspection: config.introspection,
    nodeEnv: config.mode === 'production' ? 'production' : 'development',
    // Stack traces never leave the gateway, whatever NODE_ENV says.
    includeStacktraceInErrorResponses: false,
    // Manifest ids are resolved before Apollo (persisted/persistedQueries.ts); Apollo keeps APQ where allowed.
    persistedQueries: persisted.apolloPersistedQueries && (redis ? { cache: new SharedApqStore(redis, { prefix: config.redis!.keyPrefix }) } : {}),
    // Batches are checked operation by operation (and their size) in persisted/persistedQueries.ts first.
    allowBatchedHttpRequests: config.queryLimits.maxBatchOperations > 1,
    // Compact JSON: Apollo's default pretty-prints every answer, a cost per byte that no client reads.
    stringifyResult: (result) => JSON.stringify(result),
    apollo: exploration.apollo,
    plugins: [...exploration.plugins, rootOperationTypesPlugin()],
  });
  let ready = false;
  let stopping = false;
  /** Answers not yet finished: when draining starts, each is told to close its connection after it is sent. */
  const unanswered = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    // While draining, every answer closes its connection, so kept-alive clients move to another process.
    if (stopping) res.setHeader('connection', 'close');
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
    handle(req, res).catch((error: unknown) => {
      logger.error('request failed', { error: String((error as Error)?.message ?? error) });
      if (!res.headersSent) sendRequestError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (!applyCors(req, res, config.corsOrigins, authenticator.varyHeaders)) return sendRequestError(res, 403, 'CORS_ORIGIN_NOT_ALLOWED', 'Origin not allowed');
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    // The local explorer's page and files; it needs no supergraph to load (it asks /graphql for the schema).
    if (isExplorerPath(url.pathname)) return explorer.handle(req, res, url);
    switch (url.pathname) {
      case '/health':
        return sendJson(res, 200, { status: 'ok' });
      case '/metrics': {
        const text = await (deps.metricsText ?? (() => metrics.text()))();
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(text);
        return;
      }
      case '/invalidation':
        if (config.invalidationSecret === null) return sendRequestError(res, 404, 'NOT_FOUND', 'The invalidation endpoint is off (set INVALIDATION_SECRET)');
        return handleInvalidation(req, res, config.invalidationSecret, config.maxBodyBytes, invalidator);
      case '/ready': {
        // Redis is optional: its absence is reported, never a reason to take the gateway out of rotation.
        const redisReport = redis ? { configured: true, reachable: redis.status === 'up' } : { configured: false };
        // Ready once the supergraph is loaded and every change listener has followed its source: answers cached
        // before that are revalidated, so a rename made meanwhile is never missed.
        const changes = coverage.report();
        const report = { redis: redisReport, ...(Object.keys(changes).length > 0 ? { changes } : {}) };
        if (stopping) return sendJson(res, 503, { status: 'stopping', ...report });
        return ready && coverage.ready ? sendJson(res, 200, { status: 'ready', ...report }) : sendJson(res, 503, { status: 'starting', ...report });
      }
      case '/graphql':
      case '/':
        if (!ready) return sendRequestError(res, 503, 'GATEWAY_NOT_READY', 'The gateway is still loading its supergraph');
        return admitThenServe(req, res, url);
      default:
        return sendRequestError(res, 404, 'NOT_FOUND', `No route ${url.pathname}; GraphQL is served at /graphql`);
    }
  }

  /** Nothing is read, planned or sent for an operation the gateway could not finish in time. */
  async function admitThenServe(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const requestId = requestIdOf(req.headers);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    // Listened for before queueing: a caller may go away while it waits to be admitted, and 'close' fires once.
    const gone = new AbortController();
    let closed = false;
    let release = () => {};
    res.once('close', () => {
      closed = true;
      release();
      // A caller that goes away cancels the subgraph calls only it was waiting for.
      if (!res.writableFinished) gone.abort();
    });
    const admission = await admissionControl.admit();
    if (admission.kind === 'overloaded') {
      metrics.overloaded.inc();
      return sendRequestError(res, 503, 'GATEWAY_OVERLOADED',
        `The gateway is at capacity; retry in ${admission.retryAfterSeconds} s`, { 'retry-after': String(admission.retryAfterSeconds) });
    }
    release = admission.release;
    // Nobody is left to answer: the slot goes straight to the next operation in the queue.
    if (closed) return release();
    try {
      await serveGraphQL(req, res, url, requestId, clock.now(), gone.signal);
    } finally {
      if (res.writableFinished) release();
    }
  }

  async function serveGraphQL(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string, admittedAtMs: number, signal: AbortSignal): Promise<void> {
    let body: unknown;
    if (req.method === 'POST') {
      let raw: string;
      try {
        raw = await readBody(req, config.maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) return sendRequestError(res, 413, 'PAYLOAD_TOO_LARGE', error.message);
        throw error;
      }
      const contentType = req.headers['content-type'] ?? '';
      if (contentType.includes('json')) {
        try {
          body = JSON.parse(raw);
        } catch {
          return sendRequestError(res, 400, 'BAD_REQUEST', 'Request body is not valid JSON');
        }
      } else {
        body = raw;
      }
    }
    // Before anything runs: a token that does not verify must not leave a half-run operation behind.
    const authentication = await authenticator.authenticate(req.headers);
    if (authentication.kind === 'refused') return sendUnauthenticated(res, authentication);
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const prepared = persisted.prepare({ method: req.method ?? 'GET', search: url.search, body });
    if (prepared.kind === 'refuse') return sendRefusal(res, prepared.refusal);
    // The operation budget counts from the operation's admission, not from its first subgraph fetch.
    const gatewayRequest = new GatewayRequest({
      id: requestId,
      admittedAtMs,
      operationBudgetMs: config.readPath.operationBudgetMs,
      signal,
      caller: authentication.kind === 'caller' ? { identity: authentication.identity, signer: authenticator.signer! } : null,
      headers: req.headers,
    });
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: prepared.method, headers, search: prepared.search, body: prepared.body },
      context: async (): Promise<GatewayContext> => ({ gatewayRequest }),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    if (config.cacheTagHeader && prepared.method === 'GET') {
      const header = cacheTagHeader(gatewayRequest.cacheTags, response.headers.get('cache-control'));
      if (header) res.setHeader('cache-tag', header);
    }
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') return endWithEntityTag(req, res, response.body.string, authenticator.varyHeaders);
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }

  server.keepAliveTimeout = 65_000;
  // Change events evict what they name, so an edit at the source shows before max-age runs out. Started first: a
  // source reached while the supergraph loads has nothing cached to revalidate yet.
  // Every process hears every event itself: Redis is cleaned, nothing needs broadcasting.
  const onEvent = sharedCache ? sharedInvalidator(readPath, sharedCache, { broadcast: false }) : readPath;
  const invalidation = config.invalidation
    ? startInvalidationListener({ ...config.invalidation, logger, clock }, coverage, (typename, keyFields) => {
      const evicted = onEvent.invalidateEntity(typename, keyFields);
      logger.debug('change event heard', { typename, keyFields, evicted });
    })
    : null;
  try {
    // Listen first so /health answers (and orchestrators see a live process) while the supergraph loads.
    await listen(server, config.port, config.host);
    await apollo.start();
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await invalidation?.stop();
    admissionControl.stop();
    await redis?.close();
    throw error;
  }
  ready = true;
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}/graphql`,
    port,
    gateway,
    metrics,
    redis,
    sharedCache,
    coverage,
    invalidateEntity: (typename, keyFields) => invalidator.invalidateEntity(typename, keyFields),
    /**
     * Stops accepting connections, lets the requests in flight finish (at most SHUTDOWN_GRACE_MS, then their
     * connections are cut), then closes the subgraph pools and Redis.
     */
    async stop() {
      stopping = true;
      for (const res of unanswered) if (!res.headersSent) res.setHeader('connection', 'close');
      explorer.close();
      await invalidation?.stop();
      await new Promise<void>((resolve) => {
        const grace = clock.setTimer(config.shutdownGraceMs, () => server.closeAllConnections());
        server.close(() => {
          grace.cancel();
          resolve();
        });
        server.closeIdleConnections();
      });
      await apollo.stop();
      await readPath.close();
      admissionControl.stop();
      sharedCache?.close();
      await redis?.close();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
