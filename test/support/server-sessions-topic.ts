/** The expected sessions of a topic with server-side sessions: the rule per partition, in offset order. */
import type { Kafka } from 'kafkajs';
import {
  normalize,
  ServerSessionAssigner,
  type NormalizeOptions,
  type RuleCounts,
  type Session,
  type SessionEvent,
} from '@sessionizer/core';
import { sessionize } from '@sessionizer/core/testing';
import { readTopic } from './kafka.js';
import { withOracleSessions } from './server-sessions.js';

export async function serverSessionOracle(
  kafka: Kafka,
  topic: string,
  options: NormalizeOptions,
  idleMs?: number,
): Promise<{ expected: Session[]; serverEvents: number; clientEvents: number; rules: RuleCounts }> {
  const read = await readTopic(kafka, topic, 120_000);
  const byPartition = new Map<number, { offset: bigint; event: SessionEvent }[]>();
  const client: SessionEvent[] = [];
  for (const m of read) {
    if (m.value === null) continue;
    const r = normalize('posthog-events', m.value.toString('utf8'), options);
    if (!r.ok) continue;
    if (r.event.sessionIdSource !== 'server') {
      client.push(r.event);
      continue;
    }
    const list = byPartition.get(m.partition) ?? [];
    list.push({ offset: BigInt(m.offset), event: r.event });
    byPartition.set(m.partition, list);
  }
  const partitions = [...byPartition.values()].map((list) =>
    list.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0)).map((x) => x.event),
  );
  const server = withOracleSessions(partitions, idleMs);
  // which rule decided, over the same arrivals (for reports, and to check a scenario meets every rule)
  const rules: RuleCounts = { new: 0, join: 0, late: 0 };
  for (const events of partitions) {
    const assigner = new ServerSessionAssigner(idleMs === undefined ? {} : { idleMs });
    for (const e of events) assigner.assignWithRule(e);
    for (const r of ['new', 'join', 'late'] as const) rules[r] += assigner.counts[r];
  }
  return { expected: sessionize([...client, ...server]), serverEvents: server.length, clientEvents: client.length, rules };
}
