/** ISO 8601 in UTC, or `-` for none. */
export function isoOrDash(epochMs: number | null | undefined): string {
  return epochMs === null || epochMs === undefined ? '-' : new Date(epochMs).toISOString();
}

/**
 * One tab-separated line. Tabs and newlines inside a value become spaces, so one record is
 * always one line for `cut` and `awk`.
 */
export function tsv(values: Array<string | number | null | undefined>): string {
  return values
    .map((value) => (value === null || value === undefined || value === '' ? '-' : String(value)))
    .map((value) => value.replace(/[\t\r\n]+/g, ' '))
    .join('\t');
}
