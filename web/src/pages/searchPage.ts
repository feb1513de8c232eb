/** Search results: `/` (best rated first) and `/search?q=…&category=…`. */
import { el } from '../element.js';
import { price, rating, level } from '../format.js';
import { query, RequestFailed } from '../graphql.js';
import type { GigSummary, SellerSummary } from '../model.js';
import { showLoading, showProblem } from '../pageStatus.js';

type SearchGig = GigSummary & { category: string; seller: SellerSummary };

export async function renderSearchPage(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const text = params.get('q')?.trim() || undefined;
  const category = params.get('category')?.trim() || undefined;
  document.title = text ? `“${text}” · gigs` : 'gigs';
  const input = document.querySelector<HTMLInputElement>('.site-search input');
  if (input && text) input.value = text;
  showLoading(root);
  let gigs: SearchGig[] | undefined;
  try {
    const result = await query<{ searchGigs: SearchGig[] }>('SearchResults', { text, category, first: 24 });
    gigs = result.data?.searchGigs;
  } catch (error) {
    if (!(error instanceof RequestFailed)) throw error;
  }
  if (!gigs) return showProblem(root, 'Search is not available right now', 'Please try again in a moment.');

  const heading = text ? `Results for “${text}”` : category ? category : 'Top rated gigs';
  root.replaceChildren(
    el('h1', {}, heading, category && text ? el('span', { class: 'quiet' }, ` in ${category}`) : null),
    gigs.length === 0
      ? el('p', { class: 'quiet', 'data-testid': 'no-results' }, 'No gigs match your search.')
      : el('ul', { class: 'gig-grid', 'data-testid': 'search-results' }, gigs.map(gigCard)),
  );
}

function gigCard(gig: SearchGig): HTMLElement {
  return el('li', { class: 'gig-card' },
    el('a', { class: 'gig-title', href: `/gigs/${encodeURIComponent(gig.id)}` }, gig.title),
    el('div', { class: 'gig-meta' },
      el('a', { class: 'category', href: `/search?category=${encodeURIComponent(gig.category)}` }, gig.category),
      el('span', { class: 'rating' }, rating(gig.rating, gig.ratingCount))),
    el('div', { class: 'gig-foot' },
      el('a', { class: 'seller-link', href: `/users/${encodeURIComponent(gig.seller.username)}` }, gig.seller.displayName ?? gig.seller.username),
      gig.seller.level ? el('span', { class: 'level' }, level(gig.seller.level)) : null,
      el('span', { class: 'price' }, `From ${price(gig.price)}`)),
  );
}
