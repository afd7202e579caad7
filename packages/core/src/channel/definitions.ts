/**
 * The channel type source data (channel-definitions.json), validated once at load and turned
 * into the lookup tables of the rules: source key → category, category → paid/organic channel
 * type, utm_medium → paid/organic channel type.
 *
 * The JSON is the one place this data lives; the ClickHouse expression (`channelTypeSql` in
 * @sessionizer/clickhouse) embeds the same tables as literals, so editing the file changes both
 * implementations at once (and re-creates the `sessions` view: its text changes).
 *
 * A malformed data file is a bug of this repository, not an input problem: it throws at import,
 * and definitions.test.ts keeps it from being committed.
 */
import { z } from 'zod';
import raw from './channel-definitions.json' with { type: 'json' };
import { CHANNEL_TYPES, type ChannelType } from './types.js';

/** The paid and organic channel type of a source category or a medium; null: none, the rules go on. */
export interface ChannelTypePair {
  readonly paid: ChannelType | null;
  readonly organic: ChannelType | null;
}

const channelTypeName = z.enum(CHANNEL_TYPES);
/** Lowercase ASCII keys without surrounding space: the lookups match normalised (lowercased) values. */
const key = z
  .string()
  .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, 'must be printable ASCII without surrounding space')
  .refine((k) => k === k.toLowerCase(), 'must be lowercase');

const definitionsSchema = z.strictObject({
  about: z.array(z.string()),
  categories: z.record(z.string().regex(/^[A-Za-z]+$/), z.strictObject({ paid: channelTypeName.nullable(), organic: channelTypeName })),
  mediums: z.array(z.tuple([key, channelTypeName.nullable(), channelTypeName.nullable()])),
  sources: z.array(z.union([z.tuple([key, z.string()]), z.tuple([key, z.string(), z.literal('app')])])),
});

export interface ChannelDefinitions {
  /** Source categories in file order. */
  readonly categories: readonly string[];
  readonly categoryTypes: ReadonlyMap<string, ChannelTypePair>;
  /** Every source key with its category, in file order. */
  readonly sourceCategories: ReadonlyMap<string, string>;
  /** Source keys that are app package ids (`com.google.android.gm`): informational only. */
  readonly appSources: ReadonlySet<string>;
  readonly mediumTypes: ReadonlyMap<string, ChannelTypePair>;
}

/** Validates the data file's content; throws an Error naming every problem. Exported for tests. */
export function loadChannelDefinitions(json: unknown): ChannelDefinitions {
  const parsed = definitionsSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 10).map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`channel-definitions.json is invalid: ${problems.join('; ')}`);
  }
  const data = parsed.data;
  const problems: string[] = [];
  const categoryTypes = new Map<string, ChannelTypePair>(Object.entries(data.categories));
  const sourceCategories = new Map<string, string>();
  const appSources = new Set<string>();
  for (const [k, category, app] of data.sources) {
    if (!categoryTypes.has(category)) problems.push(`source ${k}: unknown category ${category}`);
    if (sourceCategories.has(k)) problems.push(`source ${k}: listed twice`);
    sourceCategories.set(k, category);
    if (app !== undefined) appSources.add(k);
  }
  const mediumTypes = new Map<string, ChannelTypePair>();
  for (const [k, paid, organic] of data.mediums) {
    if (mediumTypes.has(k)) problems.push(`medium ${k}: listed twice`);
    mediumTypes.set(k, { paid, organic });
  }
  if (problems.length > 0) throw new Error(`channel-definitions.json is invalid: ${problems.slice(0, 10).join('; ')}`);
  return { categories: [...categoryTypes.keys()], categoryTypes, sourceCategories, appSources, mediumTypes };
}

export const CHANNEL_DEFINITIONS: ChannelDefinitions = loadChannelDefinitions(raw);
