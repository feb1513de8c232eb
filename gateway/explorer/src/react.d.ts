/**
 * The two React entry points the explorer calls, typed by hand: the project installs react and react-dom to bundle
 * GraphiQL, not their @types packages. GraphiQL's own prop types lean on React's, so main.ts types the fetcher
 * itself.
 */
declare module 'react' {
  export function createElement(type: unknown, props?: Record<string, unknown> | null, ...children: unknown[]): unknown;
}

declare module 'react-dom/client' {
  export function createRoot(container: Element): { render(node: unknown): void; unmount(): void };
}
