/**
 * The data source used for every subgraph fetch of a query plan: Apollo's remote source, with the caller's
 * identity passed on.
 */
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { callerIdentity, identityHeaders } from '../identity.js';

export class SubgraphDataSource extends RemoteGraphQLDataSource {
  override willSendRequest(options: GraphQLDataSourceProcessOptions): void {
    if (!('incomingRequestContext' in options)) return;
    const headers = identityHeaders(callerIdentity(options.incomingRequestContext.request.http?.headers));
    for (const [name, value] of Object.entries(headers)) options.request.http?.headers.set(name, value);
  }
}
