/**
 * The part of `kustomize build` that deploy/k8s uses, for tests (there is no kustomize binary
 * here): resources (files under the kustomization's root, or directories with their own
 * kustomization), namespace, images, and strategic-merge patches. Anything else in a
 * kustomization is an error, so a field this does not implement is never silently ignored.
 *
 * Strategic merge, as kustomize applies it: maps merge recursively (null deletes a key);
 * `$patch: delete` on a patch document removes the resource, `$patch: replace` on a map
 * replaces it; lists of built-in kinds merge by their patch merge key (containers, env,
 * volumes… by name; volumeMounts by mountPath; ports by containerPort or port) and an item
 * with `$patch: delete` removes its match; every other list is replaced, and so are all lists
 * of custom resources (kustomize has no schema for them).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Resource extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string };
}

const KUSTOMIZATION_KEYS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches']);
const BUILT_IN_GROUPS = new Set(['v1', 'apps/v1', 'policy/v1', 'batch/v1', 'autoscaling/v2', 'networking.k8s.io/v1']);
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'ClusterTriggerAuthentication',
]);

/** Patch merge keys of the built-in kinds' lists that deploy/k8s patches (from the Kubernetes OpenAPI). */
const MERGE_KEYS: Readonly<Record<string, (items: readonly Json[]) => string>> = {
  containers: () => 'name',
  initContainers: () => 'name',
  env: () => 'name',
  volumes: () => 'name',
  imagePullSecrets: () => 'name',
  volumeMounts: () => 'mountPath',
  ports: (items) => (items.some((i) => isObject(i) && 'containerPort' in i) ? 'containerPort' : 'port'),
};

export class KustomizeError extends Error {
  override readonly name = 'KustomizeError';
}

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as text for a message: strings as they are, anything else as JSON. */
export const text = (v: Json | undefined): string => (typeof v === 'string' ? v : v === undefined ? 'undefined' : JSON.stringify(v));

function loadYaml(path: string): Json[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  const out: Json[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new KustomizeError(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as Json;
    if (value !== null) out.push(value);
  }
  return out;
}

function asResource(value: Json, where: string): Resource {
  if (!isObject(value) || typeof value['apiVersion'] !== 'string' || typeof value['kind'] !== 'string') {
    throw new KustomizeError(`${where}: not a Kubernetes object (apiVersion and kind required)`);
  }
  const metadata = value['metadata'];
  if (!isObject(metadata) || typeof metadata['name'] !== 'string') throw new KustomizeError(`${where}: metadata.name required`);
  return value as Resource;
}

const resourceId = (r: { kind: string; metadata: JsonObject }): string =>
  `${r.kind}/${typeof r.metadata['namespace'] === 'string' ? `${r.metadata['namespace']}/` : ''}${text(r.metadata['name'])}`;

function clone<T extends Json>(v: T): T {
  return structuredClone(v);
}

function mergeList(base: Json[], patch: Json[], field: string, builtIn: boolean): Json[] {
  const keyOf = builtIn ? MERGE_KEYS[field] : undefined;
  if (keyOf === undefined) return patch.filter((p) => !(isObject(p) && p['$patch'] === 'delete')).map(clone);
  const key = keyOf([...base, ...patch]);
  const out = base.map(clone);
  for (const item of patch) {
    if (!isObject(item) || item[key] === undefined) throw new KustomizeError(`list ${field}: a patch item without its merge key ${key}`);
    const at = out.findIndex((b) => isObject(b) && b[key] === item[key]);
    if (item['$patch'] === 'delete') {
      if (at !== -1) out.splice(at, 1);
      continue;
    }
    if (at === -1) out.push(strip(clone(item)));
    else out[at] = mergeValue(out[at] ?? null, item, field, builtIn);
  }
  return out;
}

/** Remove directives from a value that is added as it is. */
function strip(v: Json): Json {
  if (Array.isArray(v)) return v.map(strip);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (k !== '$patch') out[k] = strip(x);
  return out;
}

function mergeValue(base: Json, patch: Json, field: string, builtIn: boolean): Json {
  if (isObject(patch)) {
    if (patch['$patch'] === 'replace') return strip(patch);
    if (!isObject(base)) return strip(patch);
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(base)) if (patch[k] !== null) out[k] = v;
    for (const [k, v] of Object.entries(patch)) {
      if (k === '$patch' || v === null) continue;
      out[k] = k in out ? mergeValue(out[k] ?? null, v, k, builtIn) : strip(clone(v));
    }
    return out;
  }
  if (Array.isArray(patch)) return mergeList(Array.isArray(base) ? base : [], patch, field, builtIn);
  return patch;
}

/** Apply one strategic-merge patch document to a resource (undefined: the patch deletes it). */
export function strategicMerge(resource: Resource, patch: JsonObject): Resource | undefined {
  if (patch['$patch'] === 'delete') return undefined;
  const merged = mergeValue(resource, patch, '', BUILT_IN_GROUPS.has(resource.apiVersion));
  return asResource(merged, resourceId(resource));
}

function setImages(r: Resource, images: readonly JsonObject[]): void {
  const spec = r['spec'];
  const template = isObject(spec) ? spec['template'] : undefined;
  const podSpec = isObject(template) ? template['spec'] : undefined;
  if (!isObject(podSpec)) return;
  for (const list of ['containers', 'initContainers']) {
    const containers = podSpec[list];
    if (!Array.isArray(containers)) continue;
    for (const c of containers) {
      if (!isObject(c) || typeof c['image'] !== 'string') continue;
      const name = c['image'].replace(/[@:][^/]*$/, '');
      const rule = images.find((i) => i['name'] === name);
      if (rule === undefined) continue;
      const newName = typeof rule['newName'] === 'string' ? rule['newName'] : name;
      c['image'] =
        typeof rule['digest'] === 'string'
          ? `${newName}@${rule['digest']}`
          : `${newName}${typeof rule['newTag'] === 'string' ? `:${rule['newTag']}` : (/:[^/]*$/.exec(c['image'])?.[0] ?? '')}`;
    }
  }
}

/** `kustomize build DIR`, for what deploy/k8s uses. */
export function build(dir: string): Resource[] {
  const root = resolve(dir);
  const file = join(root, 'kustomization.yaml');
  if (!existsSync(file)) throw new KustomizeError(`${root}: no kustomization.yaml`);
  const [k] = loadYaml(file);
  if (!isObject(k)) throw new KustomizeError(`${file}: not a map`);
  for (const key of Object.keys(k)) {
    if (!KUSTOMIZATION_KEYS.has(key)) throw new KustomizeError(`${file}: '${key}' is not supported by this minimal kustomize`);
  }
  const inRoot = (path: string): string => {
    const full = resolve(root, path);
    if (relative(root, full).startsWith('..')) {
      throw new KustomizeError(`${file}: ${path} is outside the kustomization's root (kustomize refuses files outside it)`);
    }
    return full;
  };

  let out: Resource[] = [];
  const resources = k['resources'] ?? [];
  if (!Array.isArray(resources)) throw new KustomizeError(`${file}: resources must be a list`);
  for (const entry of resources) {
    if (typeof entry !== 'string') throw new KustomizeError(`${file}: resources entries must be paths`);
    const full = resolve(root, entry);
    if (!existsSync(full)) throw new KustomizeError(`${file}: resource ${entry} does not exist`);
    if (statSync(full).isDirectory()) out.push(...build(full));
    else out.push(...loadYaml(inRoot(entry)).map((v, i) => asResource(v, `${entry}#${i}`)));
  }

  const patches = k['patches'] ?? [];
  if (!Array.isArray(patches)) throw new KustomizeError(`${file}: patches must be a list`);
  for (const p of patches) {
    if (!isObject(p) || typeof p['path'] !== 'string' || Object.keys(p).some((x) => x !== 'path' && x !== 'target')) {
      throw new KustomizeError(`${file}: a patch must be {path[, target]} (a strategic-merge patch file)`);
    }
    const target = p['target'];
    if (target !== undefined && !isObject(target)) throw new KustomizeError(`${file}: patch target must be a map`);
    for (const doc of loadYaml(inRoot(p['path']))) {
      if (!isObject(doc)) throw new KustomizeError(`${p['path']}: a patch must be a map`);
      const kind = target?.['kind'] ?? doc['kind'];
      const name = target?.['name'] ?? (isObject(doc['metadata']) ? doc['metadata']['name'] : undefined);
      const matches = out.filter((r) => r.kind === kind && r.metadata.name === name);
      if (matches.length !== 1) throw new KustomizeError(`${p['path']}: ${matches.length} resources match ${text(kind)}/${text(name)}`);
      out = out.flatMap((r) => (matches.includes(r) ? (strategicMerge(r, doc) ?? []) : [r]));
    }
  }

  const images = k['images'] ?? [];
  if (!Array.isArray(images) || !images.every(isObject)) throw new KustomizeError(`${file}: images must be a list of maps`);
  for (const r of out) setImages(r, images);

  const namespace = k['namespace'];
  if (namespace !== undefined) {
    if (typeof namespace !== 'string') throw new KustomizeError(`${file}: namespace must be a string`);
    for (const r of out) if (!CLUSTER_SCOPED.has(r.kind)) r.metadata['namespace'] = namespace;
  }

  const seen = new Set<string>();
  for (const r of out) {
    const id = resourceId(r);
    if (seen.has(id)) throw new KustomizeError(`${root}: ${id} is defined twice`);
    seen.add(id);
  }
  return out;
}
