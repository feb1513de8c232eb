/** What a page shows while it loads, when it does not exist, or when it cannot be loaded at all. */
import { el } from './element.js';

export function showLoading(root: HTMLElement): void {
  root.replaceChildren(el('p', { class: 'quiet loading' }, 'Loading…'));
}

export function showProblem(root: HTMLElement, title: string, detail?: string): void {
  document.title = `${title} · gigs`;
  root.replaceChildren(el('section', { class: 'problem', 'data-testid': 'problem' },
    el('h1', {}, title),
    detail ? el('p', { class: 'quiet' }, detail) : null,
    el('p', {}, el('a', { href: '/' }, 'Back to search'))));
}
