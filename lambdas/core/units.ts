/** ECR storage price in US dollars per GiB-month (us-east-1, November 2026). Users decide by money. */
export const ECR_STORAGE_USD_PER_GIB_MONTH = 0.1;

const GIB = 1024 ** 3;

/**
 * Bytes as a person reads them: `38.2 GiB`, `512.0 MiB`, `900 B`.
 *
 * @example
 * formatBytes(41_000_000_000) // '38.2 GiB'
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The monthly ECR storage cost of `bytes`, as `$3.81`. An upper bound: layers shared with kept images stay. */
export function monthlyStorageCost(bytes: number): string {
  return `$${((bytes / GIB) * ECR_STORAGE_USD_PER_GIB_MONTH).toFixed(2)}`;
}
