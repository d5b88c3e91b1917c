// Number formats shared by the stdout table, the Markdown report and the charts.

export const int = (x: number): string => Math.round(x).toLocaleString('en-US');
export const fixed = (x: number, digits: number): string => x.toFixed(digits);
/** Milliseconds with resolution that suits the value: 0.183, 2.41, 15.2, 130. */
export const ms = (x: number): string => (x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
export const ratio = (x: number | null): string => (x === null ? '-' : `${x.toFixed(2)}x`);
export const pct = (x: number): string => `${Math.round(x)}%`;
export const mb = (x: number | null): string => (x === null ? '-' : `${Math.round(x)} MB`);
/** "+12%" / "-8%": how much a is above b. */
export const delta = (a: number, b: number): string => `${a >= b ? '+' : '-'}${Math.round((Math.abs(a - b) / b) * 100)}%`;
