/**
 * The seller's top clients as every page shows them. `topClients` is nullable on purpose: when it comes back null
 * with an error (topclients slow or down), the section says so quietly and the rest of the page is unaffected.
 *
 * The pages defer the clients' details (`@defer`): the page shows first with the clients' IDs only, and this
 * section says their details are loading until their part arrives; a part that failed, or never came, leaves
 * the clients without details, and the section says they are unavailable, as for a null list.
 */
import { el } from './element.js';
import { hasDetails, type Client, type ClientListing } from './model.js';

export interface TopClientsStatus {
  /** The answer carries errors (a null list with an error: topclients failed). */
  failed: boolean;
  /** Parts of the answer are still to come (the clients' details among them). */
  pending: boolean;
}

export function topClientsSection(clients: ClientListing[] | null | undefined, status: TopClientsStatus, options: { details?: boolean } = {}): HTMLElement {
  const section = el('section', { class: 'top-clients', 'data-testid': 'top-clients' }, el('h2', {}, 'Top clients'));
  if (!clients) {
    section.append(status.failed ? unavailable() : el('p', { class: 'quiet' }, 'No top clients listed yet'));
    return section;
  }
  if (clients.length === 0) {
    section.append(el('p', { class: 'quiet' }, 'No top clients listed yet'));
    return section;
  }
  if (!clients.every(hasDetails)) {
    if (!status.pending) {
      section.append(unavailable());
      return section;
    }
    // One placeholder per client keeps the section's size, so the page does not jump when the details arrive.
    section.setAttribute('aria-busy', 'true');
    section.append(
      el('p', { class: 'quiet', 'data-testid': 'top-clients-loading' }, 'Loading top clients…'),
      el('ul', { class: 'client-list', 'aria-hidden': 'true' }, clients.map((client) => el('li', { class: 'client client-pending', 'data-client-id': client.id },
        el('span', { class: 'logo logo-blank' }),
        el('span', { class: 'client-placeholder' })))));
    return section;
  }
  section.append(el('ul', { class: 'client-list' }, clients.map((client) => clientCard(client, options.details ?? false))));
  return section;
}

function unavailable(): HTMLElement {
  return el('p', { class: 'quiet', 'data-testid': 'top-clients-unavailable' }, 'Top clients are unavailable right now');
}

export function clientLogo(client: Pick<Client, 'name' | 'logoUrl'>): HTMLElement {
  return client.logoUrl
    ? el('img', { class: 'logo', src: client.logoUrl, alt: `${client.name} logo`, width: 40, height: 40, loading: 'lazy' })
    : el('span', { class: 'logo logo-blank', 'aria-hidden': 'true' }, client.name.slice(0, 1));
}

function clientCard(client: Client, details: boolean): HTMLElement {
  return el('li', { class: 'client', 'data-client-id': client.id },
    clientLogo(client),
    el('div', { class: 'client-text' },
      el('span', { class: 'client-name' }, client.name, client.verified ? el('span', { class: 'verified', title: 'Verified' }, ' ✓') : null),
      details && client.industry ? el('span', { class: 'client-industry' }, client.industry) : null,
    ),
  );
}
