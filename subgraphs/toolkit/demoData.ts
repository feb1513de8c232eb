/**
 * Deterministic demo marketplace: the same `scale` always yields the same sellers, clients, gigs and top-client
 * lists, so `npm start`, the tests and the benchmarks all talk about the same data. Each service seeds only
 * its own slice (topclients: clients and lists; users: profiles and list IDs; gigs: gigs and list IDs).
 */

export interface DemoSize {
  sellers: number;
  clients: number;
  gigs: number;
}

export const DEFAULT_SIZE: DemoSize = { sellers: 10_000, clients: 3_000, gigs: 50_000 };

export function sizeForScale(scale: number): DemoSize {
  if (!(scale > 0)) throw new Error(`demo data scale must be a positive number, got ${scale}`);
  const at = (n: number) => Math.max(1, Math.round(n * scale));
  return { sellers: at(DEFAULT_SIZE.sellers), clients: at(DEFAULT_SIZE.clients), gigs: at(DEFAULT_SIZE.gigs) };
}

export interface DemoClient {
  id: string;
  name: string;
  logoUrl: string;
  industry: string;
  website: string;
  verified: boolean;
}

export interface DemoSeller {
  id: string;
  username: string;
  displayName: string;
  level: 'NEW' | 'LEVEL_ONE' | 'LEVEL_TWO' | 'TOP_RATED';
  country: string;
  memberSince: string;
  languages: string[];
  bio: string;
  /** Client IDs in position order; empty for about a third of sellers, as in real life. */
  topClientIds: string[];
}

export interface DemoGig {
  id: string;
  sellerId: string;
  title: string;
  description: string;
  price: number;
  rating: number | null;
  ratingCount: number;
  category: string;
}

export interface DemoData {
  size: DemoSize;
  clients: DemoClient[];
  sellers: DemoSeller[];
  gigs: DemoGig[];
}

const SHARE_WITHOUT_TOP_CLIENTS = 0.35;
const MAX_TOP_CLIENTS = 8;

const BRAND_HEADS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay', 'Soylent', 'Cyberdyne', 'Tyrell', 'Wonka', 'Gringotts', 'Oscorp', 'Aperture', 'Pied Piper', 'Massive', 'Dunder', 'Prestige', 'Monarch'];
const BRAND_TAILS = ['Labs', 'Foods', 'Motors', 'Media', 'Health', 'Capital', 'Studios', 'Logistics', 'Energy', 'Retail', 'Games', 'Travel', 'Bank', 'Cloud', 'Robotics'];
const INDUSTRIES = ['Technology', 'Food & Beverage', 'Automotive', 'Media', 'Healthcare', 'Finance', 'Entertainment', 'Logistics', 'Energy', 'Retail', 'Gaming', 'Travel'];
const ADJECTIVES = ['swift', 'bright', 'clever', 'bold', 'calm', 'keen', 'lucky', 'quiet', 'sunny', 'witty', 'brave', 'noble'];
const NOUNS = ['pixel', 'otter', 'falcon', 'maple', 'comet', 'harbor', 'cedar', 'fox', 'lotus', 'quill', 'raven', 'tiger'];
const FIRST_NAMES = ['Ana', 'Ben', 'Chen', 'Dara', 'Eli', 'Fatima', 'Goran', 'Hana', 'Ivan', 'Jun', 'Kofi', 'Lena', 'Mateo', 'Nadia', 'Omar', 'Priya'];
const LAST_NAMES = ['Silva', 'Cohen', 'Wang', 'Okafor', 'Novak', 'Haddad', 'Kim', 'Rossi', 'Müller', 'Sato', 'Mensah', 'García'];
const COUNTRIES = ['US', 'GB', 'DE', 'IL', 'IN', 'BR', 'NG', 'UA', 'PK', 'PH', 'ES', 'CA'];
const LANGUAGES = ['English', 'Spanish', 'German', 'Hebrew', 'Hindi', 'Portuguese', 'French', 'Ukrainian', 'Urdu', 'Tagalog'];
const LEVELS: DemoSeller['level'][] = ['NEW', 'LEVEL_ONE', 'LEVEL_TWO', 'TOP_RATED'];
const CATEGORIES = ['Logo Design', 'Web Development', 'Video Editing', 'Copywriting', 'Translation', 'Voice Over', 'SEO', 'Illustration', 'Mobile Apps', 'Data Analysis'];
const GIG_VERBS = ['I will design', 'I will build', 'I will edit', 'I will write', 'I will translate', 'I will record', 'I will optimize', 'I will draw', 'I will develop', 'I will analyze'];
const GIG_OBJECTS = ['a modern logo', 'your landing page', 'a YouTube video', 'product descriptions', 'your website', 'a professional voice over', 'your online store', 'a children book illustration', 'a cross-platform app', 'your sales data'];

/** mulberry32: tiny, fast and good enough for demo data and load draws; what matters is that it is deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateDemoData(size: DemoSize = DEFAULT_SIZE, seed = 42): DemoData {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  // Zipf-like popularity: a few brands are everyone's top client, most appear rarely.
  const popularClient = () => Math.min(size.clients, Math.floor(Math.pow(random(), 2.2) * size.clients) + 1);

  const clients: DemoClient[] = [];
  for (let i = 1; i <= size.clients; i++) {
    const name = `${pick(BRAND_HEADS)} ${pick(BRAND_TAILS)}${i > BRAND_HEADS.length * BRAND_TAILS.length ? ` ${i}` : ''}`;
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    clients.push({
      id: `c${i}`,
      name,
      logoUrl: `/logos/c${i}.svg`,
      industry: pick(INDUSTRIES),
      website: `https://${slug}.example`,
      verified: random() < 0.6,
    });
  }

  const sellers: DemoSeller[] = [];
  for (let i = 1; i <= size.sellers; i++) {
    const topClientIds: string[] = [];
    if (random() >= SHARE_WITHOUT_TOP_CLIENTS) {
      const wanted = 1 + Math.floor(random() * MAX_TOP_CLIENTS);
      for (let attempt = 0; topClientIds.length < Math.min(wanted, size.clients) && attempt < wanted * 4; attempt++) {
        const id = `c${popularClient()}`;
        if (!topClientIds.includes(id)) topClientIds.push(id);
      }
    }
    const first = pick(FIRST_NAMES);
    const languages = [pick(LANGUAGES)];
    if (random() < 0.5) {
      const second = pick(LANGUAGES);
      if (second !== languages[0]) languages.push(second);
    }
    const joined = new Date(Date.UTC(2012, 0, 1) + Math.floor(random() * 4_000) * 86_400_000);
    sellers.push({
      id: `s${i}`,
      username: `${pick(ADJECTIVES)}_${pick(NOUNS)}${i}`,
      displayName: `${first} ${pick(LAST_NAMES)}`,
      level: pick(LEVELS),
      country: pick(COUNTRIES),
      memberSince: joined.toISOString().slice(0, 10),
      languages,
      bio: `Hi, I'm ${first}. I help businesses grow with great work.`,
      topClientIds,
    });
  }

  const gigs: DemoGig[] = [];
  for (let i = 1; i <= size.gigs; i++) {
    const kind = Math.floor(random() * CATEGORIES.length);
    const ratingCount = random() < 0.15 ? 0 : Math.floor(random() * 2_000);
    gigs.push({
      id: `g${i}`,
      // Every seller has at least one gig while there are gigs enough; the rest go to random sellers.
      sellerId: `s${i <= size.sellers ? i : 1 + Math.floor(random() * size.sellers)}`,
      title: `${GIG_VERBS[kind]} ${GIG_OBJECTS[kind]}`,
      description: `${GIG_VERBS[kind]} ${GIG_OBJECTS[kind]} with fast delivery and unlimited revisions. Gig #${i}.`,
      price: 5 * (1 + Math.floor(random() * 60)),
      rating: ratingCount === 0 ? null : Math.round((3.5 + random() * 1.5) * 10) / 10,
      ratingCount,
      category: CATEGORIES[kind] as string,
    });
  }
  return { size, clients, sellers, gigs };
}
