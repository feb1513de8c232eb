/**
 * A page read in parts (queryInParts), its top clients' details deferred: the first part shows the page, or a
 * problem when what the page is about is missing or cannot be read; each later part replaces the top clients
 * section as it stands, so the rest of the page is drawn once.
 */
import { queryInParts, RequestFailed, type PartialResult } from './graphql.js';
import type { OperationName } from './operations.js';
import { showLoading, showProblem } from './pageStatus.js';

export interface PageInParts<T, S> {
  /** What the page is about, from the first part; null or undefined when there is none. */
  subject(data: T | null | undefined): S | null | undefined;
  /** The title of the problem shown when the page cannot be read, and of the one shown when its subject is missing. */
  unavailable: string;
  notFound: { title: string; detail: string };
  /** The top clients section as a part shows it. */
  clients(result: PartialResult<T>): HTMLElement;
  show(root: HTMLElement, subject: S, clients: HTMLElement): void;
}

/** Resolves when the answer is whole: true when it showed the page, false when it showed a problem instead. */
export async function renderInParts<T, S>(root: HTMLElement, operation: OperationName, variables: Record<string, unknown>, page: PageInParts<T, S>): Promise<boolean> {
  showLoading(root);
  /** The top clients section as shown now; null until the page is. */
  let shown: HTMLElement | null = null;
  try {
    for await (const result of queryInParts<T>(operation, variables)) {
      if (shown) {
        const next = page.clients(result);
        shown.replaceWith(next);
        shown = next;
        continue;
      }
      const subject = page.subject(result.data);
      if (!subject) {
        if (result.errors?.length) showProblem(root, page.unavailable, 'Please try again in a moment.');
        else showProblem(root, page.notFound.title, page.notFound.detail);
        return false;
      }
      shown = page.clients(result);
      page.show(root, subject, shown);
    }
  } catch (error) {
    // Only before the first part: a later part that breaks off ends the results (queryInParts).
    if (!(error instanceof RequestFailed)) throw error;
    showProblem(root, page.unavailable, 'Please try again in a moment.');
    return false;
  }
  return shown !== null;
}
