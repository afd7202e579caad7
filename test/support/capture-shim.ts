/**
 * A small stand-in for PostHog's capture service, for end-to-end tests with the real posthog-js
 * SDK in a browser. It serves the test site and posthog-js itself (no CDN), answers the SDK's
 * configuration calls minimally, and turns every event the SDK sends into one message of
 * PostHog's capture topic (the `posthog-capture` format: uuid, distinct_id, ip, data as a JSON
 * string, now, sent_at, token), handed to `write` (a Kafka producer) before the request is
 * answered, as capture does.
 *
 * What posthog-js 1.449.2 sends (seen in Chromium, recorded in packages/core/fixtures/posthog-js/):
 * - GET `/array/<token>/config.js` and `/array/<token>/config`: the remote config. Autocapture
 *   stays off until it says `autocapture_opt_out: false`; `analytics.endpoint` moves events to
 *   `/i/v0/e/`; `supportedCompression: ['gzip-js']` turns on gzip.
 * - POST `/flags/?v=2` (`/decide/` in older SDKs): feature flags; from then on every event
 *   carries `$feature/<key>` (true or the variant) and `$active_feature_flags`.
 * - POST `/e/` (before the remote config arrived) and `/i/v0/e/`: `{api_key, batch: [event…],
 *   sent_at}` as JSON, gzip (text/plain, no query parameter: recognised by its magic bytes) or
 *   base64 (`?compression=base64`, form body `data=<urlencoded base64>`, used by sendBeacon).
 *   Older SDKs send an array or a single event, `?compression=gzip-js`, `sent_at` or `_` (ms)
 *   in the query, `/batch/`, `/capture/`, `/track/` or `/engage/`; all are accepted.
 * - Each event: `uuid`, `event`, `properties` (with `distinct_id`, `token`, `$session_id`,
 *   `$current_url`, `$browser_version` as a number, the campaign ids as nulls on the landing
 *   page, …), `timestamp` (ISO, the client's clock), `$set` / `$set_once` at the top level.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { uuidv7 } from 'uuidv7';

/** One message of PostHog's capture topic. */
export interface CaptureMessage {
  readonly uuid: string;
  readonly distinct_id: string;
  readonly ip: string;
  readonly site_url: string;
  readonly data: string;
  readonly now: string;
  readonly sent_at: string | null;
  readonly token: string;
  readonly is_cookieless_mode: boolean;
}

export interface StaticFile {
  readonly type: string;
  readonly body: string | Buffer;
}

export interface CaptureShimOptions {
  readonly token: string;
  /** Writes one request's messages; the request is answered when it resolves. */
  readonly write: (messages: readonly CaptureMessage[]) => Promise<void>;
  /** Everything else the site needs, by path: the pages, posthog-js. */
  readonly files: (path: string, origin: string) => StaticFile | undefined;
  /** Feature flags every visitor gets: true for a boolean flag, a string for a variant. */
  readonly flags?: Readonly<Record<string, true | string>>;
  /** The server clock (`now`). */
  readonly now?: () => Date;
}

export interface ReceivedRequest {
  readonly path: string;
  readonly query: string;
  readonly contentType: string;
  /** How the body was encoded: json, gzip, base64 or form (`data=` holding JSON). */
  readonly encoding: BodyEncoding;
  /** The body, decoded: what the SDK sent. */
  readonly payload: unknown;
  readonly events: readonly Record<string, unknown>[];
}

export interface CaptureShim {
  readonly origin: string;
  readonly port: number;
  /** Every event request, in arrival order. */
  readonly received: readonly ReceivedRequest[];
  /** Every message written, in order. */
  readonly messages: readonly CaptureMessage[];
  /** Requests the shim could not understand (the test expects none). */
  readonly errors: readonly string[];
  close(): Promise<void>;
}

const EVENT_PATHS = /^\/(e|i\/v0\/e|batch|capture|track|engage)\/?$/;

export type BodyEncoding = 'json' | 'gzip' | 'base64' | 'form';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The JSON an SDK posted, whichever way it was encoded: gzip (by its magic bytes, whatever the
 * query says), base64 (`compression=base64`, as a `data=` form field or bare), a `data=` form
 * field holding JSON, or JSON. Throws with a reason when it is none of these.
 */
export function decodeCaptureBody(body: Buffer, query: URLSearchParams): { encoding: BodyEncoding; value: unknown } {
  if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) {
    return { encoding: 'gzip', value: JSON.parse(gunzipSync(body).toString('utf8')) as unknown };
  }
  let text = body.toString('utf8');
  let form = false;
  if (text.startsWith('data=')) {
    text = decodeURIComponent(text.slice('data='.length).replaceAll('+', ' '));
    form = true;
  }
  if (query.get('compression') === 'base64') {
    return { encoding: 'base64', value: JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as unknown };
  }
  return { encoding: form ? 'form' : 'json', value: JSON.parse(text) as unknown };
}

/** `sent_at` from the body, else from the query (`sent_at` or `_`, milliseconds since the epoch). */
function sentAtOf(payload: unknown, query: URLSearchParams): string | null {
  if (isObj(payload) && typeof payload['sent_at'] === 'string') return payload['sent_at'];
  const ms = query.get('sent_at') ?? query.get('_');
  return ms !== null && /^\d{10,16}$/.test(ms) ? new Date(Number(ms)).toISOString() : null;
}

/**
 * The capture-topic messages of one decoded request, as PostHog's capture writes them: one per
 * event, `data` the event as the SDK sent it, `now` the server's clock.
 */
export function captureMessagesOf(
  payload: unknown,
  context: { readonly now: Date; readonly ip: string; readonly siteUrl: string; readonly query: URLSearchParams },
): { events: Obj[]; messages: CaptureMessage[] } {
  const batch: unknown[] = Array.isArray(payload)
    ? payload
    : isObj(payload) && Array.isArray(payload['batch'])
      ? payload['batch']
      : isObj(payload) && Array.isArray(payload['data'])
        ? payload['data']
        : [payload];
  const apiKey = isObj(payload) && typeof payload['api_key'] === 'string' ? payload['api_key'] : undefined;
  const sentAt = sentAtOf(payload, context.query);
  const events: Obj[] = [];
  const messages: CaptureMessage[] = [];
  for (const event of batch) {
    if (!isObj(event)) throw new Error(`an event is not an object: ${JSON.stringify(event).slice(0, 100)}`);
    const properties = isObj(event['properties']) ? event['properties'] : {};
    const token = apiKey ?? properties['token'] ?? event['api_key'] ?? event['token'];
    const distinctId = properties['distinct_id'] ?? event['distinct_id'] ?? event['$distinct_id'];
    if (typeof token !== 'string') throw new Error(`event ${String(event['event'])} has no token`);
    if (typeof distinctId !== 'string' && typeof distinctId !== 'number')
      throw new Error(`event ${String(event['event'])} has no distinct_id`);
    const uuid = typeof event['uuid'] === 'string' ? event['uuid'] : uuidv7();
    events.push(event);
    messages.push({
      uuid,
      distinct_id: String(distinctId),
      ip: context.ip,
      site_url: context.siteUrl,
      data: JSON.stringify({ ...event, uuid }),
      now: context.now.toISOString(),
      sent_at: sentAt,
      token,
      is_cookieless_mode: false,
    });
  }
  return { events, messages };
}

/** PostHog's remote config, reduced to what makes posthog-js run as it does against PostHog. */
function remoteConfig(token: string): Obj {
  return {
    token,
    supportedCompression: ['gzip', 'gzip-js'],
    hasFeatureFlags: true,
    captureDeadClicks: false,
    capturePerformance: false,
    autocapture_opt_out: false,
    autocaptureExceptions: false,
    analytics: { endpoint: '/i/v0/e/' },
    elementsChainAsString: true,
    errorTracking: { autocaptureExceptions: false, suppressionRules: [] },
    sessionRecording: false,
    heatmaps: false,
    surveys: false,
    productTours: false,
    defaultIdentifiedOnly: true,
    siteApps: [],
  };
}

function flagsResponse(token: string, flags: Readonly<Record<string, true | string>>): Obj {
  const entries = Object.entries(flags);
  return {
    ...remoteConfig(token),
    flags: Object.fromEntries(
      entries.map(([key, value], i) => [
        key,
        {
          key,
          enabled: true,
          variant: value === true ? null : value,
          reason: { code: 'condition_match', condition_index: 0, description: 'Matched condition set 1' },
          metadata: { id: i + 1, version: 1, payload: null },
        },
      ]),
    ),
    featureFlags: Object.fromEntries(entries),
    featureFlagPayloads: {},
    errorsWhileComputingFlags: false,
    requestId: uuidv7(),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'access-control-allow-origin': '*', 'cache-control': 'no-store' });
  res.end(body);
}

export async function startCaptureShim(options: CaptureShimOptions): Promise<CaptureShim> {
  const received: ReceivedRequest[] = [];
  const messages: CaptureMessage[] = [];
  const errors: string[] = [];
  const now = options.now ?? (() => new Date());
  let origin = '';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const body = await readBody(req);
    const path = url.pathname;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': '*',
      });
      res.end();
      return;
    }
    if (/^\/array\/[^/]+\/config\.js$/.test(path)) {
      const js = `(window._POSTHOG_REMOTE_CONFIG = window._POSTHOG_REMOTE_CONFIG || {})[${JSON.stringify(options.token)}] = ${JSON.stringify({ config: remoteConfig(options.token), siteApps: [] })};`;
      send(res, 200, 'application/javascript', js);
      return;
    }
    if (/^\/array\/[^/]+\/config$/.test(path)) {
      send(res, 200, 'application/json', JSON.stringify(remoteConfig(options.token)));
      return;
    }
    if (/^\/(flags|decide)\/?$/.test(path)) {
      send(res, 200, 'application/json', JSON.stringify(flagsResponse(options.token, options.flags ?? {})));
      return;
    }
    if (EVENT_PATHS.test(path)) {
      const raw = req.method === 'GET' ? Buffer.from(url.searchParams.get('data') ?? '', 'utf8') : body;
      const decoded = decodeCaptureBody(raw, url.searchParams);
      const ip = req.socket.remoteAddress ?? '';
      const out = captureMessagesOf(decoded.value, { now: now(), ip, siteUrl: origin, query: url.searchParams });
      received.push({
        path,
        query: url.search,
        contentType: req.headers['content-type'] ?? '',
        encoding: decoded.encoding,
        payload: decoded.value,
        events: out.events,
      });
      await options.write(out.messages);
      messages.push(...out.messages);
      send(res, 200, 'application/json', '{"status":1}');
      return;
    }
    if (path === '/s/' || path === '/s') {
      send(res, 200, 'application/json', '{"status":1}');
      return;
    }
    const file = options.files(path, origin);
    if (file === undefined) {
      send(res, 404, 'text/plain', 'not found');
      return;
    }
    send(res, 200, file.type, file.body);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const message = `${req.method ?? ''} ${req.url ?? ''}: ${err instanceof Error ? err.message : String(err)}`;
      errors.push(message);
      if (!res.headersSent) send(res, 400, 'text/plain', message);
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    port,
    received,
    messages,
    errors,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => {
          if (err) reject(err);
          else resolve();
        });
      }),
  };
}
