/**
 * The page's assets, served from the package (no CDN: it runs behind firewalls). The page is
 * TypeScript (`page/`); esbuild — a dependency of this package, and already how tsx runs every
 * bin — bundles it with uPlot and the CSS in memory on first request, so a fresh `npm ci` needs
 * no build command.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

export interface PageAssets {
  readonly html: Asset;
  readonly js: Asset;
  readonly css: Asset;
}

const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));

async function bundle(): Promise<PageAssets> {
  const [html, out] = await Promise.all([
    readFile(`${PAGE_DIR}index.html`),
    build({
      entryPoints: [`${PAGE_DIR}main.ts`],
      bundle: true,
      format: 'iife',
      target: 'es2020',
      minify: true,
      legalComments: 'inline',
      write: false,
      outdir: 'out',
      logLevel: 'silent',
    }),
  ]);
  const file = (ext: string): Buffer => {
    const f = out.outputFiles.find((o) => o.path.endsWith(ext));
    if (f === undefined) throw new Error(`the page bundle has no ${ext} output`);
    return Buffer.from(f.contents);
  };
  return {
    html: { type: 'text/html; charset=utf-8', body: html },
    js: { type: 'text/javascript; charset=utf-8', body: file('.js') },
    css: { type: 'text/css; charset=utf-8', body: file('.css') },
  };
}

let cached: Promise<PageAssets> | undefined;

/** Bundled once per process; a failed bundle is retried on the next request. */
export function pageAssets(): Promise<PageAssets> {
  if (cached === undefined) {
    cached = bundle();
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}
