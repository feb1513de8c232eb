/** The reference deployment's three services, by name. */
import { gigsService } from './gigs/service.js';
import type { SubgraphService } from './toolkit/service.js';
import type { RequestContext } from './toolkit/subgraphServer.js';
import { topClientsService } from './topclients/service.js';
import { usersService } from './users/service.js';

// Each service has its own context type; callers only start them, so the map forgets which.
export const SERVICES: Record<'gigs' | 'users' | 'topclients', SubgraphService<RequestContext>> = {
  gigs: gigsService as unknown as SubgraphService<RequestContext>,
  users: usersService as unknown as SubgraphService<RequestContext>,
  topclients: topClientsService as unknown as SubgraphService<RequestContext>,
};

export type ServiceName = keyof typeof SERVICES;
