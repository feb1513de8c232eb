/**
 * Every part of @apollo/gateway the compiled executor reads that is not public API, read here and nowhere else:
 * the planner and schemas of the supergraph loaded now (fields of ApolloGateway), and the functions that apply a
 * plan's data rewrites (`dist/dataRewrites.js`, a deep import). They are checked when a supergraph is loaded; a
 * version without them leaves every operation to the stock executor (compiledExecutor.ts), with one warning.
 */
import type { Schema } from '@apollo/federation-internals';
import type { ApolloGateway } from '@apollo/gateway';
import type { FetchDataRewrite, QueryPlanner } from '@apollo/query-planner';
import type { GraphQLSchema } from 'graphql';

/** How a plan's `inputRewrites`/`outputRewrites` change data, and which typenames a type condition covers. */
export interface DataRewrites {
  applyRewrites(schema: GraphQLSchema, rewrites: FetchDataRewrite[] | undefined, value: Record<string, unknown>): void;
  isObjectOfType(schema: GraphQLSchema, obj: Record<string, unknown>, typeCondition: string): boolean;
}

export interface GatewayInternals {
  queryPlanner: QueryPlanner;
  /** The API schema in federation's model, which operations are planned and shaped against. */
  apiSchema: Schema;
  /** The API schema as graphql-js sees it (variables are checked against it). */
  schema: GraphQLSchema;
  /** The supergraph with its join directives (type conditions of `requires` are read against it). */
  supergraphSchema: GraphQLSchema;
  recursiveSelectionsLimitDisabled: boolean;
  nonLocalSelectionsLimitDisabled: boolean;
  rewrites: DataRewrites;
}

let rewritesModule: Promise<DataRewrites | null> | undefined;

/** The deep import, once; null when this version of @apollo/gateway moved it. */
export function loadDataRewrites(): Promise<DataRewrites | null> {
  rewritesModule ??= import('@apollo/gateway/dist/dataRewrites.js').then(
    (module: Partial<DataRewrites>) => (typeof module.applyRewrites === 'function' && typeof module.isObjectOfType === 'function' ? module as DataRewrites : null),
    () => null,
  );
  return rewritesModule;
}

/** The internals of the supergraph ApolloGateway has loaded now, or null when a part is missing. */
export function gatewayInternals(gateway: ApolloGateway, rewrites: DataRewrites | null): GatewayInternals | null {
  const state = gateway as unknown as Partial<GatewayInternals>;
  if (!rewrites) return null;
  if (!state.queryPlanner || typeof state.queryPlanner.buildQueryPlan !== 'function') return null;
  if (!state.apiSchema || !state.schema || !state.supergraphSchema) return null;
  return {
    queryPlanner: state.queryPlanner,
    apiSchema: state.apiSchema,
    schema: state.schema,
    supergraphSchema: state.supergraphSchema,
    recursiveSelectionsLimitDisabled: state.recursiveSelectionsLimitDisabled ?? false,
    nonLocalSelectionsLimitDisabled: state.nonLocalSelectionsLimitDisabled ?? false,
    rewrites,
  };
}

/** The API schema of the supergraph loaded now, in federation's model (it can print itself with `@defer`). */
export function loadedApiSchema(gateway: ApolloGateway): Schema | undefined {
  return (gateway as unknown as Partial<GatewayInternals>).apiSchema;
}
