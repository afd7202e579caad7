/**
 * A fault-injecting wrapper around the real @clickhouse/client: the real engine does the work,
 * and chosen calls fail first, the way a flaky network or an overloaded server would.
 */
import { ClickHouseError, type ClickHouseClient } from '@clickhouse/client';

export type Fault = () => Error;

export const faults = {
  /** What a dropped connection looks like from the Node client. */
  connectionReset: (): Fault => () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
  /** A ClickHouse server error with a code (e.g. 241 MEMORY_LIMIT_EXCEEDED, 117 INCORRECT_DATA). */
  server:
    (code: number, type: string): Fault =>
    () =>
      new ClickHouseError({ message: `injected ${type}`, code: String(code), type }),
};

export interface FaultyClient {
  readonly client: ClickHouseClient;
  /** Writes (insert, or exec with values) attempted, including failed ones. */
  readonly inserts: () => number;
  /** Fail the next `n` inserts with `fault`. */
  failNextInserts(n: number, fault: Fault): void;
  /** Fail every insert until `heal()` (an outage). */
  failInsertsUntilHealed(fault: Fault): void;
  heal(): void;
}

export function faultyClient(real: ClickHouseClient): FaultyClient {
  let pending: { n: number; fault: Fault } | undefined;
  let outage: Fault | undefined;
  let inserts = 0;
  const client = new Proxy(real, {
    get(target, prop, receiver) {
      const fail = (): void => {
        inserts += 1;
        if (outage !== undefined) throw outage();
        if (pending !== undefined && pending.n > 0) {
          pending.n -= 1;
          throw pending.fault();
        }
      };
      if (prop === 'insert') {
        return async (...args: Parameters<ClickHouseClient['insert']>) => {
          fail();
          return target.insert(...args);
        };
      }
      if (prop === 'exec') {
        return async (...args: Parameters<ClickHouseClient['exec']>) => {
          if ('values' in args[0]) fail();
          return target.exec(...args);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return {
    client,
    inserts: () => inserts,
    failNextInserts: (n, fault) => {
      pending = { n, fault };
    },
    failInsertsUntilHealed: (fault) => {
      outage = fault;
    },
    heal: () => {
      outage = undefined;
    },
  };
}
