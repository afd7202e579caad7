/**
 * How big a fault or soak run is (`FAULTS_SCALE`), and the one machine-readable line every fault
 * scenario prints about itself (`FAULT-REPORT {json}`, from which docs/reliability.md is filled).
 */

/** `FAULTS_SCALE=full` runs the heavy variants; anything else (default) the CI-sized ones. */
export const FULL = process.env['FAULTS_SCALE'] === 'full';

export function scaled<T>(ci: T, full: T): T {
  return FULL ? full : ci;
}

/** One machine-readable line per scenario; docs/reliability.md is filled from these. */
export function faultReport(scenario: string, fields: Record<string, unknown>): void {
  const line = `FAULT-REPORT ${JSON.stringify({ scenario, scale: FULL ? 'full' : 'ci', at: new Date().toISOString(), ...fields })}`;
  console.log(line);
}
