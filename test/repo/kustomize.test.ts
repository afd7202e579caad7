/** The minimal kustomize the deploy tests build with: strategic merge, resources, namespace, images, and its refusals. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { build, KustomizeError, strategicMerge, text, type Resource } from '../support/kustomize.js';

const deployment = (): Resource => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'app', labels: { a: '1', b: '2' } },
  spec: {
    template: {
      spec: {
        containers: [
          {
            name: 'app',
            image: 'app:1',
            args: ['run'],
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            envFrom: [{ configMapRef: { name: 'c' } }, { secretRef: { name: 's' } }],
            ports: [{ name: 'http', containerPort: 80 }],
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          },
          { name: 'sidecar', image: 'side:1' },
        ],
      },
    },
  },
});

describe('strategicMerge', () => {
  it('merges maps, deletes keys set to null, and merges built-in lists by their merge keys', () => {
    const out = strategicMerge(deployment(), {
      metadata: { labels: { b: null, c: '3' } },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'app',
                args: ['other'],
                env: [
                  { name: 'B', value: 'two' },
                  { name: 'C', valueFrom: { secretKeyRef: { name: 'x', key: 'y' } } },
                  { name: 'A', $patch: 'delete' },
                ],
                envFrom: [{ configMapRef: { name: 'c' } }],
                ports: [{ containerPort: 80, protocol: 'TCP' }],
                volumeMounts: [{ name: 'ca', mountPath: '/ca' }],
              },
            ],
          },
        },
      },
    });
    expect(out?.metadata).toEqual({ name: 'app', labels: { a: '1', c: '3' } });
    expect(out?.['spec']).toEqual({
      template: {
        spec: {
          containers: [
            {
              name: 'app',
              image: 'app:1',
              args: ['other'],
              env: [
                { name: 'B', value: 'two' },
                { name: 'C', valueFrom: { secretKeyRef: { name: 'x', key: 'y' } } },
              ],
              envFrom: [{ configMapRef: { name: 'c' } }],
              ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
              volumeMounts: [
                { name: 'tmp', mountPath: '/tmp' },
                { name: 'ca', mountPath: '/ca' },
              ],
            },
            { name: 'sidecar', image: 'side:1' },
          ],
        },
      },
    });
  });

  it('replaces lists of custom resources and maps marked $patch: replace; deletes a resource marked $patch: delete', () => {
    const so: Resource = {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'so' },
      spec: { triggers: [{ type: 'kafka', metadata: { topic: 'a', lagThreshold: '5' } }], advanced: { x: 1, y: 2 } },
    };
    const out = strategicMerge(so, {
      spec: { triggers: [{ type: 'kafka', metadata: { topic: 'b' } }], advanced: { $patch: 'replace', z: 3 } },
    });
    expect(out?.['spec']).toEqual({ triggers: [{ type: 'kafka', metadata: { topic: 'b' } }], advanced: { z: 3 } });
    expect(strategicMerge(so, { $patch: 'delete' })).toBeUndefined();
  });

  it('refuses a patch item of a keyed list without its key', () => {
    expect(() => strategicMerge(deployment(), { spec: { template: { spec: { containers: [{ image: 'x' }] } } } })).toThrow(
      /merge key name/,
    );
  });
});

describe('build', () => {
  let dir = '';
  const write = (path: string, text: string): void => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kustomize-'));
    write(
      'base/kustomization.yaml',
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [app.yaml, ../shared]\n',
    );
    write(
      'base/app.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec: {template: {spec: {containers: [{name: app, image: "reg:5000/app:1"}]}}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n',
    );
    write('shared/kustomization.yaml', 'resources: [rule.yaml]\n');
    write('shared/rule.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rules}\ndata: {a: "1"}\n');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds resources from files and directories, then patches, images and the namespace', () => {
    write(
      'overlay/kustomization.yaml',
      [
        'resources: [../base, extra.yaml]',
        'namespace: prod',
        'images: [{name: "reg:5000/app", newName: registry.example/app, newTag: "2"}]',
        'patches: [{path: p.yaml}, {path: del.yaml}]',
      ].join('\n'),
    );
    write('overlay/extra.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n');
    write('overlay/p.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rules}\ndata: {b: "2"}\n');
    write('overlay/del.yaml', 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n$patch: delete\n');
    const out = build(join(dir, 'overlay'));
    expect(out.map((r) => `${r.kind}/${text(r.metadata['namespace'])}/${r.metadata.name}`)).toEqual([
      'Deployment/prod/app',
      'ConfigMap/prod/rules',
      'ConfigMap/prod/extra',
    ]);
    expect(out[1]?.['data']).toEqual({ a: '1', b: '2' });
    expect(JSON.stringify(out[0])).toContain('"image":"registry.example/app:2"');
  });

  it('refuses unknown fields, missing or outside files, unmatched patches and duplicates', () => {
    const overlay = (k: string): (() => Resource[]) => {
      write('overlay/kustomization.yaml', k);
      return () => build(join(dir, 'overlay'));
    };
    expect(overlay('resources: [../base]\ncommonLabels: {a: b}\n')).toThrow(/'commonLabels' is not supported/);
    expect(overlay('resources: [../base, missing.yaml]\n')).toThrow(/resource missing.yaml does not exist/);
    expect(overlay('resources: [../base/app.yaml]\n')).toThrow(/outside the kustomization's root/);
    write('overlay/p.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nope}\n');
    expect(overlay('resources: [../base]\npatches: [{path: p.yaml}]\n')).toThrow(/0 resources match ConfigMap\/nope/);
    expect(overlay('resources: [../base, ../shared]\n')).toThrow(/ConfigMap\/rules is defined twice/);
    expect(overlay('resources: [../base]\npatches: [{patch: "x"}]\n')).toThrow(KustomizeError);
    expect(() => build(join(dir, 'nowhere'))).toThrow(/no kustomization.yaml/);
  });
});
