/**
 * The directives the gateway adds to the API schema, and the rules that go with them, run by Apollo Server with its
 * own (a broken rule is a 400 GRAPHQL_VALIDATION_FAILED naming it).
 *
 * `@live` (subscriptions/liveQueries.ts) is declared so that it means one thing everywhere: over the streaming
 * transports it makes a query live; over plain HTTP, which answers once, it is refused with where to send it.
 *
 * The rules the incremental delivery RFC adds to validation, which graphql-js 16 does not have (only with DEFER):
 * - `@defer` is not used on the root of a mutation (its fields run one after the other) or of a subscription;
 * - a `@defer` label is a string written in the operation, not a variable, and no two are the same;
 * - `@stream` is refused by name: this gateway delivers lists whole.
 * A non-boolean `if` is refused by graphql-js's own rules, since `@defer` is declared with `if: Boolean! = true`.
 */
import { DirectiveLocation, GraphQLDirective, GraphQLError, GraphQLSchema, Kind, visit, type ASTVisitor, type DirectiveNode, type DocumentNode, type OperationDefinitionNode, type ValidationContext, type ValidationRule } from 'graphql';

/** `@live` on a query operation. */
export const LIVE_DIRECTIVE = new GraphQLDirective({
  name: 'live',
  locations: [DirectiveLocation.QUERY],
  description: 'Over a streaming transport (graphql-ws, SSE): answer now, then again each time the answer changes, until the client stops.',
});

/** The schema with `@live` declared. */
export function withLiveDirective(schema: GraphQLSchema): GraphQLSchema {
  return new GraphQLSchema({ ...schema.toConfig(), directives: [...schema.getDirectives(), LIVE_DIRECTIVE] });
}

/** A query marked `@live`. */
export function isLive(definition: OperationDefinitionNode): boolean {
  return definition.operation === 'query' && (definition.directives ?? []).some((directive) => directive.name.value === 'live');
}

/** What a live query runs each time: the same operation without `@live` (answered once, as over HTTP). */
export function withoutLive(document: DocumentNode): DocumentNode {
  return visit(document, { OperationDefinition: (node) => ({ ...node, directives: (node.directives ?? []).filter((d) => d.name.value !== 'live') }) });
}

/** Over plain HTTP a query is answered once: a live one is sent where it can stay live. */
export const liveOverHttp: ValidationRule = (context) => ({
  OperationDefinition(node) {
    const live = node.directives?.find((directive) => directive.name.value === 'live');
    if (live) {
      context.reportError(new GraphQLError('@live queries are served over WebSocket (graphql-ws) or Server-Sent Events (Accept: text/event-stream) at /graphql; over plain HTTP, send the query without @live.', { nodes: live }));
    }
  },
});

const onRootOfMutationOrSubscription: ValidationRule = (context) => {
  const schema = context.getSchema();
  const check = (directives: readonly DirectiveNode[] | undefined) => {
    const defer = directives?.find((directive) => directive.name.value === 'defer');
    if (!defer) return;
    const parent = context.getParentType();
    const root = parent === schema.getMutationType() ? 'mutation' : parent === schema.getSubscriptionType() ? 'subscription' : null;
    if (root) {
      context.reportError(new GraphQLError(`@defer cannot be used on the root of a ${root}: defer a fragment inside a root field instead (rule: Defer And Stream Directives Are Used On Valid Root Field).`, { nodes: defer }));
    }
  };
  return {
    InlineFragment: (node) => check(node.directives),
    FragmentSpread: (node) => check(node.directives),
  };
};

const labelsStaticAndUnique: ValidationRule = (context: ValidationContext): ASTVisitor => {
  const seen = new Set<string>();
  return {
    Directive(node) {
      if (node.name.value !== 'defer') return;
      const label = node.arguments?.find((argument) => argument.name.value === 'label');
      if (!label) return;
      if (label.value.kind !== Kind.STRING) {
        context.reportError(new GraphQLError('A @defer label must be a string written in the operation, not a variable (rule: Defer And Stream Directive Labels Are Unique).', { nodes: label }));
      } else if (seen.has(label.value.value)) {
        context.reportError(new GraphQLError(`The @defer label "${label.value.value}" is used more than once; labels must be unique (rule: Defer And Stream Directive Labels Are Unique).`, { nodes: label }));
      } else {
        seen.add(label.value.value);
      }
    },
  };
};

const noStream: ValidationRule = (context) => ({
  Directive(node) {
    if (node.name.value === 'stream') {
      context.reportError(new GraphQLError('@stream is not supported by this gateway: lists are delivered whole. Use @defer on a fragment to receive a part of the answer later.', { nodes: node }));
    }
  },
});

export const DEFER_VALIDATION_RULES: readonly ValidationRule[] = [onRootOfMutationOrSubscription, labelsStaticAndUnique, noStream];
