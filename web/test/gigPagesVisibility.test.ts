/**
 * The rule behind the editor's note "Visible on your gig pages": which report from gigs confirms which change.
 */
import { describe, expect, it } from 'vitest';
import { GigPagesVisibility } from '../src/gigPagesVisibility.js';

const AT = '2026-12-06T14:03:21.000Z';
const LATER = '2026-12-06T14:03:25.000Z';

/** A change the seller made: sent now, answered with `after`. */
function change(rule: GigPagesVisibility, before: string[], after: string[]): void {
  rule.saved(rule.sending(), before, after);
}

describe('whether a change shows on the gig pages', () => {
  it('says nothing before the first change, whatever gigs reports', () => {
    const rule = new GigPagesVisibility();
    expect(rule.note).toEqual({ kind: 'none' });
    rule.applied({ ids: ['c1'], appliedAt: AT });
    expect(rule.note).toEqual({ kind: 'none' });
  });

  it('a change is updating until gigs reports exactly its list, then visible since gigs applied it', () => {
    const rule = new GigPagesVisibility();
    change(rule, ['c1', 'c2'], ['c1', 'c2', 'c3']);
    expect(rule.note).toEqual({ kind: 'updating' });
    rule.applied({ ids: ['c1', 'c2', 'c3'], appliedAt: AT });
    expect(rule.note).toEqual({ kind: 'visible', appliedAt: AT });
  });

  it('the same clients in another order are not the change: a reorder waits for its own order', () => {
    const rule = new GigPagesVisibility();
    change(rule, ['c1', 'c2'], ['c2', 'c1']);
    rule.applied({ ids: ['c1', 'c2'], appliedAt: AT });
    expect(rule.note).toEqual({ kind: 'updating' });
    rule.applied({ ids: ['c2', 'c1'], appliedAt: LATER });
    expect(rule.note).toEqual({ kind: 'visible', appliedAt: LATER });
  });

  it('a report heard before the change was sent never confirms it, even when it names the same list', () => {
    const rule = new GigPagesVisibility();
    change(rule, ['c1', 'c2'], ['c2', 'c1']);
    rule.applied({ ids: ['c2', 'c1'], appliedAt: AT });
    // Moved back: gigs showed [c1, c2] long ago, but shows [c2, c1] now.
    change(rule, ['c2', 'c1'], ['c1', 'c2']);
    expect(rule.note).toEqual({ kind: 'updating' });
    rule.applied({ ids: ['c1', 'c2'], appliedAt: LATER });
    expect(rule.note).toEqual({ kind: 'visible', appliedAt: LATER });
  });

  it('a report that arrives before the change\'s own answer counts: it was heard after the change was sent', () => {
    const rule = new GigPagesVisibility();
    const mark = rule.sending();
    rule.applied({ ids: ['c1', 'c9'], appliedAt: AT });
    rule.saved(mark, ['c1'], ['c1', 'c9']);
    expect(rule.note).toEqual({ kind: 'visible', appliedAt: AT });
  });

  it('two quick changes: the report of the first is not the second', () => {
    const rule = new GigPagesVisibility();
    change(rule, ['c1'], ['c1', 'c2']);
    change(rule, ['c1', 'c2'], ['c1', 'c2', 'c3']);
    rule.applied({ ids: ['c1', 'c2'], appliedAt: AT });
    expect(rule.note).toEqual({ kind: 'updating' });
    rule.applied({ ids: ['c1', 'c2', 'c3'], appliedAt: LATER });
    expect(rule.note).toEqual({ kind: 'visible', appliedAt: LATER });
  });

  it('a change that leaves the list as it was sends gigs nothing and changes no note', () => {
    const rule = new GigPagesVisibility();
    change(rule, ['c1'], ['c1']);
    expect(rule.note).toEqual({ kind: 'none' });
    change(rule, ['c1'], ['c1', 'c2']);
    rule.applied({ ids: ['c1', 'c2'], appliedAt: AT });
    change(rule, ['c1', 'c2'], ['c1', 'c2']);
    expect(rule.note).toEqual({ kind: 'visible', appliedAt: AT });
  });

  it('unknown, not updating for ever, when reports may have been missed or came without their list', () => {
    const rule = new GigPagesVisibility();
    change(rule, ['c1'], ['c1', 'c2']);
    rule.interrupted();
    expect(rule.note).toEqual({ kind: 'unknown' });
    // Heard again after the interruption: the list shows, so it is visible after all.
    rule.applied({ ids: ['c1', 'c2'], appliedAt: AT });
    expect(rule.note).toEqual({ kind: 'visible', appliedAt: AT });
    // Once visible, a later interruption does not take that back.
    rule.interrupted();
    expect(rule.note).toEqual({ kind: 'visible', appliedAt: AT });

    change(rule, ['c1', 'c2'], ['c2']);
    rule.applied({ ids: null, appliedAt: LATER });
    expect(rule.note).toEqual({ kind: 'unknown' });
  });

  it('once the reports have ended for good, a change is unknown, and one already visible stays so', () => {
    const rule = new GigPagesVisibility();
    change(rule, ['c1'], ['c1', 'c2']);
    rule.applied({ ids: ['c1', 'c2'], appliedAt: AT });
    rule.end();
    expect(rule.note).toEqual({ kind: 'visible', appliedAt: AT });
    change(rule, ['c1', 'c2'], ['c2', 'c1']);
    expect(rule.note).toEqual({ kind: 'unknown' });
  });

  it('an interruption before the change was sent does not make it unknown', () => {
    const rule = new GigPagesVisibility();
    rule.interrupted();
    change(rule, ['c1'], ['c1', 'c2']);
    expect(rule.note).toEqual({ kind: 'updating' });
  });
});
