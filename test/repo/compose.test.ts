import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** `docker compose` (plugin) or `docker-compose` (Debian's package): both validate without an engine. */
function composeCommand(): string[] {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  throw new Error('neither `docker compose` nor `docker-compose` is installed (Debian: apt-get install -y docker-compose)');
}

describe('docker-compose.yml', () => {
  it('is valid and defines kafka, clickhouse, sessionizer and loadgen', () => {
    const [cmd = '', ...pre] = composeCommand();
    const file = ['-f', `${root}docker-compose.yml`];
    execFileSync(cmd, [...pre, ...file, 'config', '-q'], { cwd: root, stdio: 'pipe' });
    const services = execFileSync(cmd, [...pre, ...file, '--profile', 'load', 'config', '--services'], { cwd: root })
      .toString()
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(services).toEqual(['clickhouse', 'kafka', 'loadgen', 'sessionizer']);
  });
});
