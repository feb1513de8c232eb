/** Mutation -> gigs, users and the gateway cache on the nats transport; see test/support/propagationScenario.ts. */
import { describePropagation } from '../support/propagationScenario.js';

describePropagation('nats');
