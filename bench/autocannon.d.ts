/** The small part of autocannon's API the load generator uses (the package ships no types). */
declare module 'autocannon' {
  namespace autocannon {
    interface Result {
      non2xx: number;
      errors: number;
      timeouts: number;
      requests: { total: number };
    }
  }
  function autocannon(options: Record<string, unknown>): Promise<autocannon.Result> & {
    on(event: 'response', listener: (client: unknown, status: number, bytes: number, responseTime: number) => void): void;
  };
  export default autocannon;
}
