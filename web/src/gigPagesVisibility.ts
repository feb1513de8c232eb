/**
 * Whether the seller's last change to their list shows on their gig pages yet: the rule behind the editor's note.
 *
 * gigs keeps its own copy of each seller's client IDs, applied from topclients' change events, and reports each list
 * it applies (GigPagesUpdated). A saved change is visible once gigs reports, after the change was sent, exactly the
 * list the change answered with: the same clients in the same order. Reports come in the order gigs applied them, so
 * the latest one is what the gig pages show now; a report of an earlier change names another list and does not count.
 *
 * A change that leaves the list as it was (adding a client already listed) sends gigs nothing and changes no note.
 * Reports missed while the subscription was interrupted or after it ended, or a report whose list could not be read,
 * leave the change unknown rather than "updating" for ever. An edit of a client's details is not a list change: gigs copies only IDs.
 */
export type GigPagesNote =
  | { kind: 'none' }
  | { kind: 'updating' }
  | { kind: 'visible'; appliedAt: string }
  | { kind: 'unknown' };

/** What gigs reported: the client IDs its pages show (null when the report came without them), and when it applied them. */
export interface AppliedList {
  ids: readonly string[] | null;
  appliedAt: string;
}

export class GigPagesVisibility {
  /** Counts what was heard (reports, interruptions), so each can be placed before or after a change was sent. */
  private heard = 0;
  private latest: (AppliedList & { heardAt: number }) | null = null;
  private interruptedAt = 0;
  private ended = false;
  private awaited: { ids: readonly string[]; sentAt: number } | null = null;

  /** A change to the list is about to be sent: the mark to give `saved` with its answer. */
  sending(): number {
    return this.heard;
  }

  /** The change sent at `mark` was saved: the list went from `before` to `after`. */
  saved(mark: number, before: readonly string[], after: readonly string[]): void {
    if (!sameIds(before, after)) this.awaited = { ids: after, sentAt: mark };
  }

  /** gigs reported a list it applied. */
  applied(list: AppliedList): void {
    this.latest = { ...list, heardAt: ++this.heard };
  }

  /** The reports stopped for a while (the socket closed): some may have been missed. */
  interrupted(): void {
    this.interruptedAt = ++this.heard;
  }

  /** No report will come any more. */
  end(): void {
    this.ended = true;
  }

  get note(): GigPagesNote {
    const { awaited, latest } = this;
    if (!awaited) return { kind: 'none' };
    if (latest && latest.heardAt > awaited.sentAt) {
      if (latest.ids === null) return { kind: 'unknown' };
      if (sameIds(latest.ids, awaited.ids)) return { kind: 'visible', appliedAt: latest.appliedAt };
    }
    return this.ended || this.interruptedAt > awaited.sentAt ? { kind: 'unknown' } : { kind: 'updating' };
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
