/**
 * What a feature of the gateway is (runtime.ts builds the gateway from them): the routes it answers, the Apollo
 * Server plugins and options it brings, its part of a GraphQL request, and what it holds from start to stop. Each
 * lives in its own module as `useX(...)`, next to the code it runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApolloServerOptionsWithGateway, ApolloServerPlugin, HTTPGraphQLResponse } from '@apollo/server';
import type { Caller, GatewayContext, GatewayRequest } from './request.js';

/** A path's answer; `url` is the request's, parsed once. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

/** Takes over a connection that asks to switch protocols (a WebSocket). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** What a hook returns when it answered the request itself: nothing after it runs. */
export type Answered = 'answered';
type Step = Answered | void;

/** A GraphQL request between the door and Apollo Server. */
export interface IncomingOperation {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** As Apollo Server will read them; persisted queries resolve an id into its text here. */
  params: { method: string; search: string; body: unknown };
  /** Null: anonymous. Set by authentication, from a verified token or the development header. */
  caller: Caller | null;
}

export interface GatewayFeature {
  readonly name: string;
  /** Paths it answers, exact (`/metrics`) or every path under one (`/explorer/*`). */
  readonly routes?: Readonly<Record<string, RouteHandler>>;
  /** Paths where it takes over connections upgraded to another protocol, exact. */
  readonly upgrades?: Readonly<Record<string, UpgradeHandler>>;
  /** Answers the GraphQL requests that accept `text/event-stream` (one feature may). */
  readonly eventStreams?: RouteHandler;
  readonly apolloPlugins?: readonly ApolloServerPlugin<GatewayContext>[];
  readonly apolloOptions?: Pick<ApolloServerOptionsWithGateway<GatewayContext>, 'persistedQueries' | 'apollo'>;
  /** Request headers an answer depends on besides the operation (who is calling): `Vary`, and allowed by CORS. */
  readonly varyHeaders?: readonly string[];
  onRequest?(req: IncomingMessage, res: ServerResponse): Step | Promise<Step>;
  onOperation?(operation: IncomingOperation): Step | Promise<Step>;
  onResponse?(operation: IncomingOperation, request: GatewayRequest, response: HTTPGraphQLResponse): void;
  start?(): void | Promise<void>;
  /** The process is about to stop: what it holds open for long (streams) is ended now, with a reason. */
  drain?(): void;
  stop?(): void | Promise<void>;
}
