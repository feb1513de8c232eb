/** The operations the benchmark sends: the real gig page and editor mutation, and a gig page that needs only gigs. */
import { parse, print, visit } from 'graphql';
import { operation } from '../schema/operations.js';

/**
 * The pages' gig page, whole: without the `@defer` on its top clients, which stock @apollo/gateway and Hive Gateway
 * refuse (their schemas declare no @defer), so that every contender answers the same page in one JSON body. It is
 * what ours plans for a client that takes JSON only; the deferred page has scenarios of its own (DEFERRED_GIG_PAGE).
 */
export const GIG_PAGE = print(visit(parse(operation('GigPage').body), { Directive: (node) => (node.name.value === 'defer' ? null : undefined) }));
export const UPDATE_CLIENT = operation('UpdateClient').body;

/** The gig page's own data only (one fetch to gigs): the baseline "a gateway that only has to call gigs". */
export const GIGS_ONLY = `query GigsOnly($id: ID!) {
  gig(id: $id) { id title description price rating ratingCount category seller { id } }
}`;

/**
 * The gig page with the top clients' details deferred (scenarios 2d and 4d). The bench's own text, not the
 * manifest's GigPage, so that what these scenarios measure does not change when the pages' operations do: the first
 * payload is the gig, the seller's profile and the top clients' ids; each client's details follow when topclients
 * has answered.
 */
const CLIENT_SUMMARY = `fragment ClientSummary on Client {
  id
  name
  logoUrl
  verified
  version
}`;
export const DEFERRED_GIG_PAGE = `query DeferredGigPage($id: ID!) {
  gig(id: $id) {
    id title description price rating ratingCount category
    seller {
      id username displayName level country
      topClients { id ...ClientSummary @defer(label: "topClients") }
    }
  }
}

${CLIENT_SUMMARY}`;

/**
 * The deferred page's first payload asked as a query of its own: the gig, the seller's profile at users and the top
 * clients' ids that gigs stores, without their details (no topclients call). The baseline the deferred page's first
 * payload is held to (the issue's "gigs-only page"): it costs the page subgraphs exactly what the first payload does,
 * so the two differ only in deferring. GIGS_ONLY above also leaves out users and the ids.
 */
export const NO_CLIENT_DETAILS_PAGE = `query NoClientDetailsGigPage($id: ID!) {
  gig(id: $id) {
    id title description price rating ratingCount category
    seller { id username displayName level country topClients { id } }
  }
}`;
