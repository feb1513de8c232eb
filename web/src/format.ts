/** How prices, ratings and levels read on every page. */
export function price(amount: number): string {
  return `$${amount.toLocaleString('en-US', { maximumFractionDigits: 2 })}`;
}

export function rating(value: number | null, count: number): string {
  return value === null || count === 0 ? 'No reviews yet' : `★ ${value.toFixed(1)} (${count.toLocaleString('en-US')})`;
}

export function level(value: string | null | undefined): string {
  return value ? value.replace(/_/g, ' ').toLowerCase().replace(/^\w/, (c) => c.toUpperCase()) : '';
}
