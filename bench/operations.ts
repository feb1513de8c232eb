/** The operations the benchmark sends: the real gig page and editor mutation, and a gig page that needs only gigs. */
import { operation } from '../schema/operations.js';

export const GIG_PAGE = operation('GigPage').body;
export const UPDATE_CLIENT = operation('UpdateClient').body;

/** The gig page's own data only (one fetch to gigs): the baseline "a gateway that only has to call gigs". */
export const GIGS_ONLY = `query GigsOnly($id: ID!) {
  gig(id: $id) { id title description price rating ratingCount category seller { id } }
}`;
