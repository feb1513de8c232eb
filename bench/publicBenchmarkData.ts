/**
 * Scenario 7's data, shaped like the public federation gateway benchmarks' (six users, nine products of which
 * `topProducts` lists five, eleven reviews with long bodies; every review's author is the first user, and
 * `User.reviews` lists the first two reviews whoever the user is). The same query then answers about 90 KB, three
 * levels of entity fetches deep. Review bodies are filler text of the same lengths, made here.
 */
import type { OverheadData } from './overheadSubgraphs.js';

const WORDS = ['gateway', 'plan', 'fetch', 'entity', 'subgraph', 'answer', 'merge', 'field', 'query', 'cache', 'shape',
  'key', 'batch', 'value', 'order', 'list', 'node', 'edge', 'path', 'type'];

/** Deterministic filler of exactly `length` characters. */
function filler(seed: number, length: number): string {
  const words: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const word = WORDS[(seed * 7 + i * 3) % WORDS.length]!;
    words.push(word);
    size += word.length + 1;
  }
  return `${words.join(' ').slice(0, length - 1)}.`;
}

const BODY_LENGTHS = [446, 290, 277, 147, 446, 290, 277, 147, 147, 147, 1013];
const REVIEW_UPCS = ['1', '1', '1', '1', '2', '2', '2', '2', '3', '4', '4'];
const reviews: OverheadData['reviews'] = BODY_LENGTHS.map((length, i) => ({
  id: String(i + 1),
  authorID: '1',
  product: { upc: REVIEW_UPCS[i]! },
  body: filler(i + 1, length),
}));

export const PUBLIC_BENCHMARK_DATA: OverheadData = {
  users: [
    { id: '1', name: 'Ada Lovelace', username: 'ada' },
    { id: '2', name: 'Alan Turing', username: 'alan' },
    { id: '3', name: 'Grace Hopper', username: 'grace' },
    { id: '4', name: 'Edsger Dijkstra', username: 'edsger' },
    { id: '5', name: 'Barbara Liskov', username: 'barbara' },
    { id: '6', name: 'Donald Knuth', username: 'donald' },
  ],
  products: [
    { upc: '1', name: 'Table', price: 899, weight: 100 },
    { upc: '2', name: 'Couch', price: 1299, weight: 1000 },
    { upc: '3', name: 'Glass', price: 15, weight: 20 },
    { upc: '4', name: 'Chair', price: 499, weight: 100 },
    { upc: '5', name: 'TV', price: 1299, weight: 1000 },
    { upc: '6', name: 'Lamp', price: 6999, weight: 300 },
    { upc: '7', name: 'Grill', price: 3999, weight: 2000 },
    { upc: '8', name: 'Fridge', price: 100000, weight: 6000 },
    { upc: '9', name: 'Sofa', price: 9999, weight: 800 },
  ],
  inventory: ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((upc, i) => ({ upc, inStock: [true, false, false, false, true, true, true, false, true][i]! })),
  reviews,
  reviewsOfUser: () => reviews.slice(0, 2),
};
