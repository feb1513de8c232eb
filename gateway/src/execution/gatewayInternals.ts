/**
 * The parts of ApolloGateway's state the compiled executor reads: the planner and schemas of the supergraph loaded
 * now, and the data source of each subgraph. They are not public API, so they are read in this one place, checked
 * on every read, and a version without them leaves every operation to the stock executor (compiledExecutor.ts).
 */
import type { Schema } from '@apollo/federation-internals';
import type { ApolloGateway, GraphQLDataSource } from '@apollo/gateway';
import type { QueryPlanner } from '@apollo/query-planner';
import type { GraphQLSchema } from 'graphql';

export interface GatewayInternals {
  queryPlanner: QueryPlanner;
  /** The API schema in federation's model, which operations are planned and shaped against. */
  apiSchema: Schema;
  /** The API schema as graphql-js sees it (variables are checked against it). */
  schema: GraphQLSchema;
  /** The supergraph with its join directives (type conditions of `requires` are read against it). */
  supergraphSchema: GraphQLSchema;
  serviceMap: Record<string, { dataSource: GraphQLDataSource } | undefined>;
  recursiveSelectionsLimitDisabled: boolean;
  nonLocalSelectionsLimitDisabled: boolean;
}

export function gatewayInternals(gateway: ApolloGateway): GatewayInternals | null {
  const state = gateway as unknown as Partial<GatewayInternals>;
  if (!state.queryPlanner || typeof state.queryPlanner.buildQueryPlan !== 'function') return null;
  if (!state.apiSchema || !state.schema || !state.supergraphSchema || !state.serviceMap) return null;
  // Read on every request, so it is the object itself, not a copy; the two limits flags are booleans from the env.
  return state as GatewayInternals;
}
