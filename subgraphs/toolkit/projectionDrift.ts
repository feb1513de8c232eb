/**
 * Compares a page subgraph's copy of the sellers' IDs with the source's lists (pure: `ops check` fetches both).
 * A seller is missing (source has a list, the copy none), extra (the copy has one the source does not), behind
 * (older version: events still on their way, or lost), or different (same version, other IDs: corruption).
 */
import type { SellerIds } from './pageSubgraphEvents.js';

export interface ProjectionDrift {
  sellers: number;
  missing: string[];
  extra: string[];
  behind: { sellerId: string; sourceVersion: number; copyVersion: number }[];
  different: string[];
}

export function projectionDrift(source: readonly SellerIds[], copy: readonly SellerIds[]): ProjectionDrift {
  const held = new Map(copy.map((l) => [l.sellerId, l]));
  const listed = new Set(source.map((l) => l.sellerId));
  const drift: ProjectionDrift = { sellers: source.length, missing: [], extra: [], behind: [], different: [] };
  for (const list of source) {
    const mine = held.get(list.sellerId);
    if (!mine) drift.missing.push(list.sellerId);
    else if (mine.version < list.version) drift.behind.push({ sellerId: list.sellerId, sourceVersion: list.version, copyVersion: mine.version });
    else if (mine.version > list.version || mine.clientIds.join('\u0000') !== list.clientIds.join('\u0000')) drift.different.push(list.sellerId);
  }
  for (const list of copy) if (!listed.has(list.sellerId)) drift.extra.push(list.sellerId);
  return drift;
}

export function driftCount(drift: ProjectionDrift): number {
  return drift.missing.length + drift.extra.length + drift.behind.length + drift.different.length;
}
