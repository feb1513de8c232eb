/**
 * The gig page, `/gigs/:id`: the gig, its seller and the seller's top clients (resolved from topclients). The
 * clients' details are deferred: the page shows as soon as the gig and seller are read, and the top clients
 * section fills in when topclients has answered. Then the page goes live: the same selection as a live query over
 * graphql-ws (GigPageLive), whose every new answer is drawn into the page in place, changing only what changed.
 */
import { el } from '../element.js';
import { level, price, rating } from '../format.js';
import type { PartialResult } from '../graphql.js';
import { liveUpdates } from '../liveUpdates.js';
import type { ClientListing } from '../model.js';
import { renderInParts } from '../pageInParts.js';
import { patchElement } from '../patchElement.js';
import { topClientsSection } from '../topClientsSection.js';

interface GigPageData {
  gig: {
    id: string; title: string; description: string; price: number; rating: number | null; ratingCount: number; category: string;
    seller: { id: string; username: string; displayName: string | null; level: string | null; country: string | null; topClients: ClientListing[] | null };
  } | null;
}

type Gig = NonNullable<GigPageData['gig']>;

export async function renderGigPage(root: HTMLElement, id: string): Promise<void> {
  // First over HTTP, as every page: a GET by id that caches, and a first paint that does not wait for topclients.
  const shown = await renderInParts<GigPageData, Gig>(root, 'GigPage', { id }, {
    subject: (data) => data?.gig,
    unavailable: 'This gig cannot be shown right now',
    notFound: { title: 'Gig not found', detail: `There is no gig ${id}.` },
    clients: clientsOf,
    show: (page, gig, topClients) => page.replaceChildren(gigView(gig, topClients)),
  });
  if (shown) followChanges(root, id);
}

/** Draws each answer of the live query into the page shown; the socket closes when the page is left. */
function followChanges(root: HTMLElement, id: string): void {
  liveUpdates<GigPageData>('GigPageLive', { id }, {
    onResult: (result) => {
      const gig = result.data?.gig;
      const shown = root.firstElementChild;
      // An answer without the gig (an error, a gig just removed) leaves the page as it is: going live only adds.
      if (!gig || !shown) return;
      patchElement(shown, gigView(gig, clientsOf({ ...result, hasNext: false })), 'data-client-id');
    },
  });
}

function clientsOf(result: PartialResult<GigPageData>): HTMLElement {
  return topClientsSection(result.data?.gig?.seller.topClients, { failed: Boolean(result.errors?.length), pending: result.hasNext });
}

/** The page for `gig` (and the tab's title for it). */
function gigView(gig: Gig, topClients: HTMLElement): HTMLElement {
  document.title = `${gig.title} · gigs`;
  const seller = gig.seller;
  const sellerName = seller.displayName ?? seller.username;
  return el('div', { class: 'gig-page' },
    el('article', { class: 'gig', 'data-testid': 'gig' },
      el('a', { class: 'category', href: `/search?category=${encodeURIComponent(gig.category)}` }, gig.category),
      el('h1', { 'data-testid': 'gig-title' }, gig.title),
      el('p', { class: 'rating' }, rating(gig.rating, gig.ratingCount)),
      el('p', { class: 'description' }, gig.description),
      el('p', { class: 'price big' }, `From ${price(gig.price)}`)),
    el('aside', { class: 'seller-card', 'data-testid': 'seller' },
      el('div', { class: 'avatar', 'aria-hidden': 'true' }, sellerName.slice(0, 1).toUpperCase()),
      el('a', { class: 'seller-name', href: `/users/${encodeURIComponent(seller.username)}` }, sellerName),
      el('p', { class: 'quiet' }, `@${seller.username}`),
      el('p', {}, [level(seller.level), seller.country].filter(Boolean).join(' · ')),
      topClients));
}
