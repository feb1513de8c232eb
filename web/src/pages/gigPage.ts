/**
 * The gig page, `/gigs/:id`: the gig, its seller and the seller's top clients (resolved from topclients). The
 * clients' details are deferred: the page shows as soon as the gig and seller are read, and the top clients
 * section fills in when topclients has answered.
 */
import { el } from '../element.js';
import { level, price, rating } from '../format.js';
import type { PartialResult } from '../graphql.js';
import type { ClientListing } from '../model.js';
import { renderInParts } from '../pageInParts.js';
import { topClientsSection } from '../topClientsSection.js';

interface GigPageData {
  gig: {
    id: string; title: string; description: string; price: number; rating: number | null; ratingCount: number; category: string;
    seller: { id: string; username: string; displayName: string | null; level: string | null; country: string | null; topClients: ClientListing[] | null };
  } | null;
}

export function renderGigPage(root: HTMLElement, id: string): Promise<void> {
  return renderInParts<GigPageData, NonNullable<GigPageData['gig']>>(root, 'GigPage', { id }, {
    subject: (data) => data?.gig,
    unavailable: 'This gig cannot be shown right now',
    notFound: { title: 'Gig not found', detail: `There is no gig ${id}.` },
    clients: clientsOf,
    show: showGig,
  });
}

function clientsOf(result: PartialResult<GigPageData>): HTMLElement {
  return topClientsSection(result.data?.gig?.seller.topClients, { failed: Boolean(result.errors?.length), pending: result.hasNext });
}

function showGig(root: HTMLElement, gig: NonNullable<GigPageData['gig']>, topClients: HTMLElement): void {
  document.title = `${gig.title} · gigs`;
  const seller = gig.seller;
  const sellerName = seller.displayName ?? seller.username;
  root.replaceChildren(el('div', { class: 'gig-page' },
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
      topClients)));
}
