/**
 * The overview page: reads the view from its own URL (team, from, to, filters), asks the API for
 * `meta`, then for every panel at once, and renders each as it arrives. Clicking a table row adds
 * a filter to the URL (history.pushState) and reloads every panel; back/forward replays.
 *
 * Everything the data says is set with textContent / DOM properties, never parsed as HTML.
 * State for tests and tools: <body data-ready="true"> once every panel of the latest load is in.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { Breakdowns, Meta, Series, Table, Tile, Tiles } from '../api.js';

const NONE = '(none)';
const DAY_MS = 86_400_000;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className !== undefined) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function byId<T extends HTMLElement>(id: string, type: abstract new () => T): T;
function byId(id: string): HTMLElement;
function byId(id: string, type: abstract new () => HTMLElement = HTMLElement): HTMLElement {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return e;
}

class ApiError extends Error {}

async function getJson<T>(path: string, params: URLSearchParams): Promise<T> {
  const res = await fetch(`${path}?${params.toString()}`, { headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => ({ error: `HTTP ${res.status}` }))) as T & { error?: string };
  if (!res.ok) throw new ApiError(body.error ?? `HTTP ${res.status}`);
  return body;
}

// ---------------------------------------------------------------- formatting

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

const TILE_LABELS: Record<Tile['key'], string> = {
  sessions: 'Sessions',
  visitors: 'Unique visitors',
  pageviews: 'Pageviews',
  median_duration: 'Median session duration',
  avg_duration: 'Average session duration',
  bounce_rate: 'Bounce rate',
};

function tileValue(t: Tile): string {
  if (t.value === null) return '—';
  switch (t.key) {
    case 'median_duration':
    case 'avg_duration':
      return duration(t.value);
    case 'bounce_rate':
      return `${oneDecimal.format(100 * t.value)}%`;
    default:
      return integer.format(t.value);
  }
}

function tileChange(t: Tile): { text: string; tone: 'up' | 'down' | 'flat' | 'none' } {
  if (t.previous === null) return { text: 'no previous data', tone: 'none' };
  if (t.change === null) return t.value === 0 ? { text: '■ no change', tone: 'flat' } : { text: '▲ up from 0', tone: 'none' };
  // relative change in %, or for the bounce rate the difference in percentage points
  const points = t.key === 'bounce_rate';
  const amount = 100 * t.change;
  const text = `${amount > 0 ? '▲' : amount < 0 ? '▼' : '■'} ${oneDecimal.format(Math.abs(amount))}${points ? ' pp' : '%'}`;
  if (amount === 0) return { text, tone: 'flat' };
  // a falling bounce rate is good news
  const good = points ? amount < 0 : amount > 0;
  return { text, tone: good ? 'up' : 'down' };
}

function label(value: string | null): string {
  if (value === null) return NONE;
  return value === '' ? '(empty)' : value;
}

// ---------------------------------------------------------------- URL state

const RANGE_KEYS = ['team', 'from', 'to'];

function current(): URLSearchParams {
  return new URLSearchParams(window.location.search);
}

function navigate(params: URLSearchParams): void {
  const qs = params.toString();
  window.history.pushState(null, '', qs === '' ? window.location.pathname : `?${qs}`);
  void load();
}

function addFilter(column: string, value: string | null): void {
  const p = current();
  p.delete(column);
  for (const v of p.getAll('null')) if (v === column) p.delete('null', v);
  if (value === null) p.append('null', column);
  else p.set(column, value);
  navigate(p);
}

function removeFilter(column: string): void {
  const p = current();
  p.delete(column);
  p.delete('null', column);
  navigate(p);
}

// ---------------------------------------------------------------- rendering

let generation = 0;
let chart: uPlot | undefined;
let pending = 0;

function setBusy(delta: number, gen: number): void {
  if (gen !== generation) return;
  pending += delta;
  document.body.dataset['ready'] = pending === 0 ? 'true' : 'false';
}

function showError(message: string | null): void {
  const box = byId('error', HTMLParagraphElement);
  box.hidden = message === null;
  box.textContent = message ?? '';
}

function renderControls(meta: Meta): void {
  const team = byId('team', HTMLSelectElement);
  team.replaceChildren(
    ...meta.teams.map((t) => {
      const o = el('option', undefined, `${t.team} (${integer.format(t.sessions)} sessions)`);
      o.value = t.team;
      o.dataset['first'] = t.first_day;
      o.dataset['last'] = t.last_day;
      return o;
    }),
  );
  if (meta.team !== null && !meta.teams.some((t) => t.team === meta.team)) {
    const o = el('option', undefined, `${meta.team} (no sessions)`);
    o.value = meta.team;
    team.append(o);
  }
  team.value = meta.team ?? '';
  byId('from', HTMLInputElement).value = meta.period.from;
  byId('to', HTMLInputElement).value = meta.period.to;
  const p = current();
  byId('preset', HTMLSelectElement).value = p.has('from') || p.has('to') ? 'custom' : 'default';
  byId('period').textContent =
    `${meta.period.from} – ${meta.period.to} (${meta.period.days} days, UTC), compared with ${meta.period.previousFrom} – ${meta.period.previousTo}`;

  const titles = new Map(meta.dimensions.map((d) => [d.column, d.label]));
  byId('filters').replaceChildren(
    ...meta.filters.map((f) => {
      const li = el('li', 'chip');
      li.dataset['column'] = f.column;
      li.append(el('span', 'chip-key', `${titles.get(f.column) ?? f.column}:`), el('span', 'chip-value', label(f.value)));
      const x = el('button', 'chip-remove', '×');
      x.type = 'button';
      x.title = `Remove the ${f.column} filter`;
      x.addEventListener('click', () => {
        removeFilter(f.column);
      });
      li.append(x);
      return li;
    }),
  );
}

function renderTiles(tiles: Tiles, meta: Meta): void {
  byId('tiles').replaceChildren(
    ...tiles.tiles.map((t) => {
      const card = el('div', 'tile');
      card.dataset['key'] = t.key;
      card.dataset['value'] = String(t.value);
      card.dataset['previous'] = String(t.previous);
      card.dataset['change'] = String(t.change);
      const change = tileChange(t);
      const delta = el('div', `tile-change ${change.tone}`, change.text);
      delta.title = `previous ${meta.period.days} days: ${tileValue({ ...t, value: t.previous })}`;
      card.append(el('div', 'tile-label', TILE_LABELS[t.key]), el('div', 'tile-value', tileValue(t)), delta);
      return card;
    }),
  );
}

function renderSeries(series: Series): void {
  const box = byId('chart');
  const xs = series.points.map((p) => Date.parse(`${p.t.replace(' ', 'T')}Z`) / 1000);
  const total = series.points.reduce((a, p) => a + p.sessions, 0);
  box.dataset['total'] = String(total);
  box.dataset['points'] = String(series.points.length);
  chart?.destroy();
  const width = Math.max(160, box.clientWidth);
  chart = new uPlot(
    {
      width,
      height: 220,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
      axes: [
        {
          space: 56,
          // ticks on whole buckets only, labelled in UTC like the buckets
          incrs:
            series.bucket === 'hour' ? [3_600, 7_200, 10_800, 21_600, 43_200, 86_400] : [86_400, 172_800, 604_800, 1_209_600, 2_419_200],
          values: (_u, splits) =>
            splits.map((s) => {
              const iso = new Date(s * 1000).toISOString();
              return series.bucket === 'hour' && !iso.endsWith('T00:00:00.000Z') ? `${iso.slice(11, 13)}:00` : iso.slice(5, 10);
            }),
        },
        { size: 50 },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        { value: series.bucket === 'hour' ? '{YYYY}-{MM}-{DD} {HH}:00' : '{YYYY}-{MM}-{DD}' },
        { label: 'Sessions', stroke: '#3b63d6', fill: 'rgba(59, 99, 214, 0.12)', width: 2, points: { show: xs.length <= 60 } },
        { label: 'Visitors', stroke: '#e08a1e', width: 1.5, dash: [6, 4], points: { show: false } },
      ],
    },
    [xs, series.points.map((p) => p.sessions), series.points.map((p) => p.visitors)],
    box,
  );
}

function tableCard(column: string, title: string): HTMLElement {
  const card = el('section', 'card table-card');
  card.dataset['column'] = column;
  card.append(el('h2', undefined, title), el('p', 'muted', 'Loading…'));
  return card;
}

function renderTable(card: HTMLElement, table: Table, valueLabel: string, filtered: boolean): void {
  const title = card.querySelector('h2');
  const head = el('div', 'thead');
  head.append(el('span', undefined, valueLabel), el('span', 'num', 'Visitors'), el('span', 'num', 'Sessions'));
  const list = el('ol', 'rows');
  for (const row of table.rows) {
    const li = el('li');
    const button = el('button', 'row');
    button.type = 'button';
    button.dataset['value'] = row.value ?? '';
    button.dataset['null'] = String(row.value === null);
    button.dataset['sessions'] = String(row.sessions);
    button.dataset['visitors'] = String(row.visitors);
    button.title = filtered ? 'Filtered on this value' : `Filter on ${valueLabel}: ${label(row.value)}`;
    const share = table.total_sessions === 0 ? 0 : row.sessions / table.total_sessions;
    const bar = el('span', 'bar');
    bar.style.width = `${(100 * share).toFixed(2)}%`;
    const name = el('span', 'label', label(row.value));
    const pct = el('span', 'num', integer.format(row.sessions));
    pct.title = `${oneDecimal.format(100 * share)}% of sessions`;
    button.append(bar, name, el('span', 'num', integer.format(row.visitors)), pct);
    button.addEventListener('click', () => {
      addFilter(table.column, row.value);
    });
    li.append(button);
    list.append(li);
  }
  const foot = el(
    'p',
    'muted',
    table.rows.length === 0
      ? 'No sessions'
      : `Top ${table.rows.length} of ${integer.format(table.distinct_values)} · bars: share of ${integer.format(table.total_sessions)} sessions`,
  );
  card.dataset['distinct'] = String(table.distinct_values);
  card.dataset['total'] = String(table.total_sessions);
  card.replaceChildren(...(title === null ? [] : [title]), head, list, foot);
}

function panelError(card: HTMLElement, err: unknown): void {
  const title = card.querySelector('h2');
  card.replaceChildren(...(title === null ? [] : [title]), el('p', 'error', err instanceof Error ? err.message : String(err)));
}

async function load(): Promise<void> {
  generation += 1;
  const gen = generation;
  pending = 0;
  setBusy(1, gen);
  showError(null);
  try {
    const meta = await getJson<Meta>('api/overview/meta', current());
    if (gen !== generation) return;
    renderControls(meta);
    if (meta.team === null) {
      showError('There are no sessions yet. Run the service or `sessionizer replay`, then reload.');
      byId('tiles').replaceChildren();
      byId('tables').replaceChildren();
      return;
    }
    const params = new URLSearchParams(current());
    params.set('team', meta.team);
    params.set('from', meta.period.from);
    params.set('to', meta.period.to);
    const filtered = new Set(meta.filters.map((f) => f.column));

    const panel = (run: () => Promise<void>, fail: (err: unknown) => void): void => {
      setBusy(1, gen);
      run()
        .catch((err: unknown) => {
          if (gen === generation) fail(err);
        })
        .finally(() => {
          setBusy(-1, gen);
        });
    };
    const get = async <T>(path: string, extra: Record<string, string> = {}): Promise<T | undefined> => {
      const p = new URLSearchParams(params);
      for (const [k, v] of Object.entries(extra)) p.set(k, v);
      const value = await getJson<T>(path, p);
      return gen === generation ? value : undefined;
    };
    panel(
      async () => {
        const t = await get<Tiles>('api/overview/tiles');
        if (t !== undefined) renderTiles(t, meta);
      },
      (err) => {
        showError(err instanceof Error ? err.message : String(err));
      },
    );
    const cards = meta.dimensions.map((d) => ({ d, card: tableCard(d.column, d.title) }));
    byId('tables').replaceChildren(...cards.map((c) => c.card));
    // the chart and every table come from one statement: the range's sessions are merged once
    panel(
      async () => {
        const b = await get<Breakdowns>('api/overview/breakdowns');
        if (b === undefined) return;
        renderSeries(b.series);
        for (const { d, card } of cards) {
          const t = b.tables.find((x) => x.column === d.column);
          if (t !== undefined) renderTable(card, t, d.label, filtered.has(d.column));
          else panelError(card, new Error('no data for this table'));
        }
      },
      (err) => {
        byId('chart').replaceChildren(el('p', 'error', err instanceof Error ? err.message : String(err)));
        for (const { card } of cards) panelError(card, err);
      },
    );
  } catch (err) {
    if (gen === generation) showError(err instanceof Error ? err.message : String(err));
  } finally {
    setBusy(-1, gen);
  }
}

// ---------------------------------------------------------------- controls

function wireControls(): void {
  byId('team', HTMLSelectElement).addEventListener('change', (e) => {
    const p = current();
    p.set('team', (e.target as HTMLSelectElement).value);
    // another team has its own data days: back to its default range
    p.delete('from');
    p.delete('to');
    navigate(p);
  });
  const dates = (): void => {
    const from = byId('from', HTMLInputElement).value;
    const to = byId('to', HTMLInputElement).value;
    if (from === '' || to === '') return;
    const p = current();
    p.set('from', from <= to ? from : to);
    p.set('to', from <= to ? to : from);
    navigate(p);
  };
  byId('from').addEventListener('change', dates);
  byId('to').addEventListener('change', dates);
  byId('preset', HTMLSelectElement).addEventListener('change', (e) => {
    const choice = (e.target as HTMLSelectElement).value;
    const p = current();
    const to = byId('to', HTMLInputElement).value;
    for (const k of RANGE_KEYS.slice(1)) p.delete(k);
    if (choice === '30' || choice === '90') {
      const end = Date.parse(`${to}T00:00:00Z`);
      p.set('from', new Date(end - (Number(choice) - 1) * DAY_MS).toISOString().slice(0, 10));
      p.set('to', to);
    } else if (choice === 'all') {
      const team = byId('team', HTMLSelectElement);
      const option = team.selectedOptions[0];
      const first = option?.dataset['first'];
      const last = option?.dataset['last'];
      if (first !== undefined && last !== undefined) {
        p.set('from', first);
        p.set('to', last);
      }
    } else if (choice === 'custom') {
      return;
    }
    navigate(p);
  });
  byId('controls', HTMLFormElement).addEventListener('submit', (e) => {
    e.preventDefault();
  });
  window.addEventListener('popstate', () => {
    void load();
  });
  const box = byId('chart');
  new ResizeObserver(() => {
    const width = Math.max(160, box.clientWidth);
    if (chart !== undefined && chart.width !== width) chart.setSize({ width, height: 220 });
  }).observe(box);
}

wireControls();
void load();
