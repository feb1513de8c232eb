import { describe, expect, it } from 'vitest';
import { DEFAULT_SIZE, generateDemoData, sizeForScale } from '../demoData.js';

describe('demo data', () => {
  it('is the same for the same size and seed, and different for another seed', () => {
    const size = sizeForScale(0.02);
    expect(generateDemoData(size)).toEqual(generateDemoData(size));
    expect(generateDemoData(size, 7).sellers[0]).not.toEqual(generateDemoData(size).sellers[0]);
  });

  it('defaults to about 10k sellers, 3k clients and 50k gigs, scaled by the size knob', () => {
    expect(sizeForScale(1)).toEqual(DEFAULT_SIZE);
    expect(DEFAULT_SIZE).toEqual({ sellers: 10_000, clients: 3_000, gigs: 50_000 });
    expect(sizeForScale(0.01)).toEqual({ sellers: 100, clients: 30, gigs: 500 });
    expect(() => sizeForScale(0)).toThrow(/positive/);
  });

  it('gives a share of sellers no top clients, shares popular clients between sellers, and references only real ids', () => {
    const data = generateDemoData(sizeForScale(0.2));
    const without = data.sellers.filter((s) => s.topClientIds.length === 0).length / data.sellers.length;
    expect(without).toBeGreaterThan(0.25);
    expect(without).toBeLessThan(0.45);
    const clientIds = new Set(data.clients.map((c) => c.id));
    const sellerIds = new Set(data.sellers.map((s) => s.id));
    const uses = new Map<string, number>();
    for (const seller of data.sellers) {
      expect(new Set(seller.topClientIds).size).toBe(seller.topClientIds.length);
      for (const id of seller.topClientIds) {
        expect(clientIds.has(id)).toBe(true);
        uses.set(id, (uses.get(id) ?? 0) + 1);
      }
    }
    expect(Math.max(...uses.values())).toBeGreaterThan(20);
    expect(data.gigs.every((g) => sellerIds.has(g.sellerId))).toBe(true);
    expect(new Set(data.sellers.map((s) => s.username)).size).toBe(data.sellers.length);
  });
});
