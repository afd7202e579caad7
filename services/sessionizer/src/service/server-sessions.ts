/**
 * The server-side session stage, between normalisation and aggregation (`run` and `replay`):
 * events kept without $session_id (NormalizeOptions.serverSessions) get their session from the
 * rule of @sessionizer/core (server-sessions/rule.ts), with one assigner per source partition —
 * the rule is defined on a partition's arrival order.
 */
import { ServerSessionAssigner, type ServerSessionRule, type SessionEvent } from '@sessionizer/core';
import type { ServerSessionsSetting } from '../config.js';

export interface ServerSessionStageOptions {
  readonly idleMs: number;
  /** Called once per assigned event, with the rule that decided. */
  readonly onAssigned?: (rule: ServerSessionRule) => void;
}

/** NormalizeOptions.serverSessions for a setting: undefined when off. */
export function serverSessionTeams(setting: ServerSessionsSetting): ((teamId: number) => boolean) | undefined {
  if (setting === 'off') return undefined;
  if (setting === 'all') return () => true;
  const teams = new Set(setting);
  return (teamId) => teams.has(teamId);
}

export class ServerSessionStage {
  readonly #options: ServerSessionStageOptions;
  readonly #assigners = new Map<string, ServerSessionAssigner>();

  constructor(options: ServerSessionStageOptions) {
    this.#options = options;
  }

  /** The assigner of a source partition (created on first use). */
  assigner(topic: string, partition: number): ServerSessionAssigner {
    const key = `${topic}\u0000${partition}`;
    let a = this.#assigners.get(key);
    if (a === undefined) {
      a = new ServerSessionAssigner({ idleMs: this.#options.idleMs });
      this.#assigners.set(key, a);
    }
    return a;
  }

  /** The event with its session: the client's untouched, a server-side one assigned. */
  apply(topic: string, partition: number, event: SessionEvent): SessionEvent {
    if (event.sessionIdSource !== 'server') return event;
    const { event: assigned, rule } = this.assigner(topic, partition).assignWithRule(event);
    this.#options.onAssigned?.(rule);
    return assigned;
  }

  /** Tracked distinct_ids over all partitions. */
  get trackedKeys(): number {
    let n = 0;
    for (const a of this.#assigners.values()) n += a.size;
    return n;
  }
}
