/**
 * The user page, `/users/:username`: the seller's profile, top clients and gigs. The clients' details are deferred:
 * the profile and gigs show as soon as they are read, and the top clients section fills in when topclients has
 * answered.
 */
import { el } from '../element.js';
import { level, price, rating } from '../format.js';
import type { PartialResult } from '../graphql.js';
import type { ClientListing, GigSummary } from '../model.js';
import { renderInParts } from '../pageInParts.js';
import { topClientsSection } from '../topClientsSection.js';

interface UserPageData {
  seller: {
    id: string; username: string; displayName: string | null; level: string | null; country: string | null;
    memberSince: string | null; languages: string[] | null; bio: string | null;
    topClients: ClientListing[] | null; gigs: GigSummary[] | null;
  } | null;
}

export async function renderUserPage(root: HTMLElement, username: string): Promise<void> {
  await renderInParts<UserPageData, NonNullable<UserPageData['seller']>>(root, 'UserPage', { username }, {
    subject: (data) => data?.seller,
    unavailable: 'This profile cannot be shown right now',
    notFound: { title: 'Seller not found', detail: `There is no seller @${username}.` },
    clients: clientsOf,
    show: showProfile,
  });
}

function clientsOf(result: PartialResult<UserPageData>): HTMLElement {
  return topClientsSection(result.data?.seller?.topClients, { failed: Boolean(result.errors?.length), pending: result.hasNext }, { details: true });
}

function showProfile(root: HTMLElement, seller: NonNullable<UserPageData['seller']>, topClients: HTMLElement): void {
  const name = seller.displayName ?? seller.username;
  document.title = `${name} · gigs`;
  const facts = [
    level(seller.level),
    seller.country,
    seller.memberSince ? `Member since ${new Date(seller.memberSince).toLocaleDateString('en-US', { year: 'numeric', month: 'short' })}` : null,
    seller.languages?.length ? `Speaks ${seller.languages.join(', ')}` : null,
  ].filter(Boolean).join(' · ');
  root.replaceChildren(el('div', { class: 'user-page' },
    el('section', { class: 'profile', 'data-testid': 'profile' },
      el('div', { class: 'avatar big', 'aria-hidden': 'true' }, name.slice(0, 1).toUpperCase()),
      el('div', {},
        el('h1', {}, name),
        el('p', { class: 'quiet' }, `@${seller.username}`),
        facts ? el('p', {}, facts) : null,
        seller.bio ? el('p', { class: 'bio' }, seller.bio) : null)),
    topClients,
    el('section', { class: 'seller-gigs' },
      el('h2', {}, `Gigs by ${name}`),
      seller.gigs === null
        ? el('p', { class: 'quiet' }, 'Gigs are unavailable right now')
        : seller.gigs.length === 0
          ? el('p', { class: 'quiet' }, 'No gigs yet')
          : el('ul', { class: 'gig-grid' }, seller.gigs.map((gig) => el('li', { class: 'gig-card' },
            el('a', { class: 'gig-title', href: `/gigs/${encodeURIComponent(gig.id)}` }, gig.title),
            el('div', { class: 'gig-meta' }, el('span', { class: 'rating' }, rating(gig.rating, gig.ratingCount))),
            el('div', { class: 'gig-foot' }, el('span', { class: 'price' }, `From ${price(gig.price)}`))))))));
}
