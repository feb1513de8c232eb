/**
 * The seller's top clients as every page shows them. `topClients` is nullable on purpose: when it comes back null
 * with an error (topclients slow or down), the section says so quietly and the rest of the page is unaffected.
 */
import { el } from './element.js';
import type { Client } from './model.js';

export function topClientsSection(clients: Client[] | null | undefined, failed: boolean, options: { details?: boolean } = {}): HTMLElement {
  const section = el('section', { class: 'top-clients', 'data-testid': 'top-clients' }, el('h2', {}, 'Top clients'));
  if (!clients) {
    section.append(failed
      ? el('p', { class: 'quiet', 'data-testid': 'top-clients-unavailable' }, 'Top clients are unavailable right now')
      : el('p', { class: 'quiet' }, 'No top clients listed yet'));
    return section;
  }
  if (clients.length === 0) {
    section.append(el('p', { class: 'quiet' }, 'No top clients listed yet'));
    return section;
  }
  section.append(el('ul', { class: 'client-list' }, clients.map((client) => clientCard(client, options.details ?? false))));
  return section;
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
