import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_INFRA_DIR, freePort } from '@sessionizer/kafka/testing';

const run = promisify(execFile);
const { Kafka, logLevel } = kafkajs;

describe('infra/kafka native broker', () => {
  let dataDir = '';
  let args: string[] = [];
  afterAll(async () => {
    if (args.length > 0) await run('bash', [join(DEFAULT_INFRA_DIR, 'stop.sh'), ...args]).catch(() => undefined);
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  });

  it('starts on its own port, serves the admin API, ignores a second start, and stops', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'native-broker-test-'));
    const port = await freePort();
    const controllerPort = await freePort();
    args = ['--port', String(port), '--controller-port', String(controllerPort), '--data-dir', dataDir];

    const first = await run('bash', [join(DEFAULT_INFRA_DIR, 'start.sh'), ...args]);
    expect(first.stdout.trim()).toBe(`KAFKA_BROKERS=127.0.0.1:${port}`);
    const pid = (await readFile(join(dataDir, 'broker.pid'), 'utf8')).trim();

    const kafka = new Kafka({ clientId: 'native-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'native-check', numPartitions: 2 }], waitForLeaders: true });
    const topics = await admin.listTopics();
    console.log(`native broker on ${port} lists topics: ${topics.join(', ')}`);
    expect(topics).toContain('native-check');

    // A second start while it runs: reports the running broker, touches nothing.
    const second = await run('bash', [join(DEFAULT_INFRA_DIR, 'start.sh'), ...args]);
    expect(second.stdout.trim()).toBe(`KAFKA_BROKERS=127.0.0.1:${port}`);
    expect(second.stderr).toContain('already running');
    expect((await readFile(join(dataDir, 'broker.pid'), 'utf8')).trim()).toBe(pid);
    expect(await admin.listTopics()).toContain('native-check');
    await admin.disconnect();

    const status = await run('bash', [join(DEFAULT_INFRA_DIR, 'status.sh'), ...args]);
    expect(status.stdout).toContain('running');

    await run('bash', [join(DEFAULT_INFRA_DIR, 'stop.sh'), ...args]);
    await expect(run('bash', [join(DEFAULT_INFRA_DIR, 'status.sh'), ...args])).rejects.toMatchObject({ code: 3 });
    args = [];
  });

  it('refuses a port that another process holds, naming the port', async () => {
    const otherDir = await mkdtemp(join(tmpdir(), 'native-broker-busy-'));
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const addr = srv.address();
    const busy = addr !== null && typeof addr === 'object' ? addr.port : 0;
    try {
      await expect(
        run('bash', [join(DEFAULT_INFRA_DIR, 'start.sh'), '--port', String(busy), '--data-dir', otherDir]),
      ).rejects.toMatchObject({ stderr: expect.stringContaining(`127.0.0.1:${busy} is already in use`) as unknown });
    } finally {
      srv.close();
      await rm(otherDir, { recursive: true, force: true });
    }
  });
});
