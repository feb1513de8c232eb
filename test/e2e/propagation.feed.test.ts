/** Mutation -> gigs, users and the gateway cache on the feed transport; see test/support/propagationScenario.ts. */
import { describePropagation } from '../support/propagationScenario.js';

describePropagation('feed');
