/** The silence lengths offered from a row and in the silences form. */
export const DURATIONS: { seconds: number; label: string }[] = [
  { seconds: 15 * 60, label: '15 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 4 * 3600, label: '4 hours' },
  { seconds: 86_400, label: '1 day' },
  { seconds: 7 * 86_400, label: '1 week' },
];

export function problemText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
