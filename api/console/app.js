// The City Brain console: the KPI board against the plan's targets, alerts crews can work, nodes and
// a map, live from /api/v1/stream. Plain browser JavaScript served by the API itself (the city's
// network may be closed: nothing comes from elsewhere). Text is always set as text, never as HTML.

const CITY_OFFSET_MS = 8 * 3_600_000; // Asia/Shanghai
const state = {
  kpis: null,
  /** The live stream has sent the KPIs and keeps them current (with patches). */
  kpisLive: false,
  alerts: new Map(),
  places: [],
  token: localStorage.getItem('cb.token') ?? '',
  by: localStorage.getItem('cb.by') ?? '',
};

// ---- small helpers ----

/** An element with attributes (on* = listeners) and children (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el =
    tag === 'svg' || ['circle', 'g', 'title', 'rect', 'text'].includes(tag)
      ? document.createElementNS('http://www.w3.org/2000/svg', tag)
      : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const $ = (sel) => document.querySelector(sel);
const pct = (x, digits = 1) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)} %`);
const num = (x, digits = 0) => (x === null || x === undefined ? '–' : Number(x).toFixed(digits));
const cityTime = (ts) => (ts ? new Date(ts + CITY_OFFSET_MS).toISOString().slice(0, 16).replace('T', ' ') : '–');
const ago = (ts) => {
  const s = Math.max(0, Math.round((Date.now() - ts) / 1000));
  return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
};

function say(text, error = false) {
  const m = $('#message');
  m.textContent = text;
  m.className = `message${error ? ' error' : ''}`;
  m.hidden = !text;
  if (text && !error) setTimeout(() => m.textContent === text && (m.hidden = true), 4000);
}

async function api(path, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { ...init, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new Error(`${res.status}: ${body?.message ?? body}`);
  return body;
}

// ---- the KPI board ----

function table(head, rows) {
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        head.map((c) => h('th', {}, c)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h(
          'tr',
          {},
          r.map((c) => h('td', {}, c)),
        ),
      ),
    ),
  );
}
const verdict = (ok) =>
  ok === null || ok === undefined
    ? h('span', { class: 'pill unknown' }, 'n/a')
    : h('span', { class: `pill ${ok ? 'ok' : 'bad'}` }, ok ? 'meets target' : 'below target');
const big = (value, label, ok) =>
  h('div', { class: `big ${ok === undefined ? '' : ok ? 'ok' : 'bad'}` }, h('strong', {}, value), h('span', {}, label));

function lighting(k) {
  const classes = ['expressway', 'main', 'secondary', 'branch', 'alley'].filter((c) => k.byRoadClass?.[c]);
  return [
    big(
      pct(k.rate),
      k.scheduledOn ? 'lamps lit of those that should be' : 'lamps are scheduled off now',
      k.scheduledOn ? k.rate >= 0.95 : undefined,
    ),
    table(
      ['road class', 'lit', 'target', ''],
      classes.map((c) => {
        const r = k.byRoadClass[c];
        return [c, `${pct(r.rate)} (${r.lit}/${r.expected})`, pct(r.target, 0), verdict(r.expected ? r.compliant : null)];
      }),
    ),
    h(
      'p',
      {},
      `${k.darkCircuits ?? 0} dark circuit(s), ${k.onInDaytime ?? 0} lamp(s) on in daytime; installation ${pct(k.installation?.rate)}, facilities intact ${pct(k.intact?.rate)}`,
    ),
  ];
}

const BAND_ORDER = { red: 0, orange: 1, yellow: 2, normal: 3, null: 4 };
function groundwater(k) {
  const wells = [...(k.list ?? [])].sort((a, b) => BAND_ORDER[a.band] - BAND_ORDER[b.band] || (a.level ?? 99) - (b.level ?? 99));
  return [
    big(
      `${k.byBand?.normal ?? 0} / ${k.reporting ?? 0}`,
      'wells above their yellow line',
      (k.byBand?.red ?? 0) + (k.byBand?.orange ?? 0) === 0,
    ),
    table(
      ['well', 'level (m)', 'band', '24 h trend', 'next line'],
      wells
        .slice(0, 8)
        .map((w) => [
          w.well,
          num(w.level, 2),
          h('span', { class: `pill band-${w.band}` }, w.band ?? 'no data'),
          w.trend24hCmPerDay === null || w.trend24hCmPerDay === undefined ? '–' : `${num(w.trend24hCmPerDay, 1)} cm/day`,
          w.hoursToNextLine === null || w.hoursToNextLine === undefined
            ? w.nextLine
              ? `${w.nextLine} ${num(w.nextLineM, 2)} m`
              : '–'
            : `${w.nextLine} in ${num(w.hoursToNextLine, 0)} h`,
        ]),
    ),
  ];
}

function noise(k) {
  const over = (k.list ?? []).filter((s) => s.lastHour?.exceeds || s.currentHour?.exceeds);
  return [
    big(
      pct(k.complianceRate),
      `of ${k.complete} complete station-hours within their zone limit`,
      k.complianceRate === null ? undefined : k.complianceRate === 1,
    ),
    h('p', {}, `${k.stations} stations; last judged hour ${cityTime(k.hour)}; ${k.incomplete} incomplete (too few minutes to judge)`),
    over.length
      ? table(
          ['station', 'zone', 'Leq', 'limit'],
          over.slice(0, 6).map((s) => {
            const hr = s.lastHour?.exceeds ? s.lastHour : s.currentHour;
            return [s.station, s.zoneClass, `${num(hr.leq, 1)} dB(A)`, `${hr.limit} dB(A)`];
          }),
        )
      : h('p', {}, 'No station over its limit.'),
  ];
}

function parking(k) {
  const lots = [...(k.list ?? [])].sort((a, b) => (b.occupancy ?? -1) - (a.occupancy ?? -1));
  return [
    big(pct(k.occupancy), `occupied; ${k.free} free, ${k.unknown} unknown of ${k.spaces} spaces`),
    h(
      'p',
      {},
      `${k.full} lot(s) full, ${k.nearlyFull} nearly full; turnover ${num(k.turnover, 2)} sessions per space today, mean stay ${num(k.meanDwellMin, 0)} min`,
    ),
    table(
      ['lot', 'occupied', 'state'],
      lots.slice(0, 5).map((l) => [l.lotName, pct(l.occupancy, 0), l.state ?? '–']),
    ),
  ];
}

function nodes(k) {
  return [
    big(pct(k.ratio), `online: ${k.online} of ${k.total} nodes (${k.neverSeen} never seen)`, k.ratio >= 0.95),
    table(
      ['kind', 'online', 'of'],
      Object.entries(k.byKind ?? {}).map(([kind, c]) => [kind, pct(c.ratio), c.total]),
    ),
  ];
}

/** A profile kind's section (README "Adding a sensor kind"): its aggregates for the city and the nodes over a line now. */
function profileKind(k) {
  const aggregates = Object.entries(k.aggregates ?? {});
  const list = k.list ?? [];
  return [
    big(`${k.reporting ?? 0} / ${k.nodes ?? 0}`, 'nodes reporting'),
    table(
      ['aggregate', 'city'],
      aggregates.map(([name, v]) => [name, v === null ? '–' : String(Math.round(v * 1000) / 1000)]),
    ),
    list.length
      ? table(
          ['node', 'district', 'now', 'rules'],
          list.slice(0, 6).map((r) => [
            r.nodeId,
            r.district,
            Object.entries(r.values)
              .map(([f, v]) => `${f} ${v}`)
              .join(', '),
            r.rules.join(', ') || '–',
          ]),
        )
      : h('p', {}, 'No node over a line.'),
  ];
}

const SECTIONS = { lighting, groundwater, noise, parking, nodes };

/** Sections of the KPI document that are profile kinds (they carry a title and aggregates), each in a card of its own. */
function profileSections(k) {
  return Object.entries(k).filter(([name, s]) => !(name in SECTIONS) && s && typeof s === 'object' && 'aggregates' in s && 'title' in s);
}

function renderBoard() {
  const k = state.kpis;
  if (!k) return;
  $('#evaluated').textContent = cityTime(k.evaluatedAt);
  $('#evaluated').dataset.at = String(k.evaluatedAt);
  const renderers = { ...SECTIONS };
  for (const [name, section] of profileSections(k)) {
    renderers[name] = profileKind;
    if (!document.getElementById(`kpi-${name}`))
      $('#kpi-nodes').before(h('article', { id: `kpi-${name}`, class: 'card' }, h('h2', {}, section.title), h('div', { class: 'body' })));
  }
  for (const [name, render] of Object.entries(renderers)) {
    const body = document.querySelector(`#kpi-${name} .body`);
    try {
      body.replaceChildren(...render(k[name] ?? {}));
    } catch (error) {
      body.replaceChildren(h('p', { class: 'error' }, `cannot show this section: ${error.message}`));
    }
  }
}

// ---- alerts ----

function alertFilters() {
  return Object.fromEntries(new FormData($('#alert-filters')).entries());
}

function alertItem(a) {
  const actions =
    a.state === 'resolved'
      ? [h('button', { onclick: () => noteAlert(a) }, 'Add note')]
      : [
          a.state === 'firing' ? h('button', { class: 'primary', onclick: () => ackAlert(a) }, 'Acknowledge') : null,
          h('button', { onclick: () => noteAlert(a) }, 'Add note'),
        ];
  return h(
    'li',
    { class: `alert ${a.severity} ${a.state}`, 'data-id': a.id },
    h(
      'div',
      { class: 'head' },
      h('span', { class: `pill sev-${a.severity}` }, a.severity),
      h('strong', {}, a.alertname),
      h('span', { class: 'state' }, a.state),
      h('span', { class: 'where' }, `${a.labels.district ?? ''} · ${a.labels.kind ?? ''}`),
    ),
    h('p', {}, a.summary),
    h(
      'p',
      { class: 'meta' },
      `fired ${cityTime(a.firedAt)} (${ago(a.firedAt)} ago)`,
      a.acknowledgedBy ? ` · acknowledged by ${a.acknowledgedBy}` : '',
      a.resolvedAt ? ` · resolved ${cityTime(a.resolvedAt)}` : '',
    ),
    a.notes?.length
      ? h(
          'ol',
          { class: 'notes' },
          a.notes.map((n) =>
            h(
              'li',
              {},
              `${cityTime(n.at)} ${n.by} (${n.role}) ${n.action === 'ack' ? 'acknowledged' : 'noted'}${n.text ? `: ${n.text}` : ''}`,
            ),
          ),
        )
      : null,
    h('div', { class: 'actions' }, actions),
  );
}

function renderAlerts() {
  const f = alertFilters();
  const list = [...state.alerts.values()]
    .filter((a) => (f.state ? a.state === f.state : a.state !== 'resolved'))
    .filter((a) => !f.kind || a.labels.kind === f.kind)
    .filter((a) => !f.district || a.labels.district === f.district)
    .sort((a, b) => b.updatedAt - a.updatedAt);
  $('#alert-list').replaceChildren(
    ...(list.length ? list.slice(0, 300).map(alertItem) : [h('li', { class: 'empty' }, 'No alerts match.')]),
  );
  const active = [...state.alerts.values()].filter((a) => a.state !== 'resolved').length;
  $('#alert-count').textContent = active ? String(active) : '';
  renderMap();
}

function rememberAlert(a) {
  state.alerts.set(a.id, a);
}

async function ackAlert(a) {
  const note = prompt(`Acknowledge ${a.alertname}: a note for the others (optional)`, 'crew on the way');
  if (note === null) return;
  await act(
    `/api/v1/alerts/${a.id}/ack`,
    { ...(state.by ? { by: state.by } : {}), ...(note.trim() ? { note: note.trim() } : {}) },
    'acknowledged',
  );
}

async function noteAlert(a) {
  const note = prompt(`Note on ${a.alertname}`, '');
  if (!note?.trim()) return;
  await act(`/api/v1/alerts/${a.id}/notes`, { by: state.by || 'console', note: note.trim() }, 'note added');
}

async function act(path, body, done) {
  try {
    rememberAlert(await api(path, { method: 'POST', body }));
    renderAlerts();
    say(done);
  } catch (error) {
    say(`Not done: ${error.message}${String(error.message).startsWith('40') ? ' (sign in with a crew token)' : ''}`, true);
  }
}

// ---- nodes ----

function kv(obj) {
  return table(
    ['', ''],
    Object.entries(obj ?? {}).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)]),
  );
}

async function showNode(id) {
  try {
    const v = await api(`/api/v1/nodes/${encodeURIComponent(id)}`);
    $('#node-detail').replaceChildren(
      h('h2', {}, `${v.node.nodeId} (${v.node.kind}, ${v.node.district})`),
      h('p', {}, `${v.health.status}; last reading ${cityTime(v.health.lastSeen)}`),
      h('h3', {}, 'Attributes'),
      kv(v.node),
      h('h3', {}, 'Latest reading'),
      v.latest ? kv(v.latest) : h('p', {}, 'none yet'),
      h('h3', {}, 'Derived'),
      v.derived ? kv(v.derived) : h('p', {}, '–'),
    );
  } catch (error) {
    $('#node-detail').replaceChildren(h('p', { class: 'error' }, error.message));
  }
}

async function searchNodes(event) {
  event?.preventDefault();
  const f = Object.fromEntries(new FormData($('#node-search')).entries());
  if (f.id?.trim()) return showNode(f.id.trim());
  const q = new URLSearchParams(Object.entries({ kind: f.kind, district: f.district, status: f.status, limit: '50' }).filter(([, v]) => v));
  try {
    const page = await api(`/api/v1/nodes?${q}`);
    $('#node-results').replaceChildren(
      h('p', {}, `${page.total} node(s)${page.total > page.items.length ? `, the first ${page.items.length}` : ''}`),
      table(
        ['node', 'kind', 'district', 'status'],
        page.items.map((v) => [
          h('a', { href: '#nodes', onclick: () => showNode(v.node.nodeId) }, v.node.nodeId),
          v.node.kind,
          v.node.district,
          v.health.status,
        ]),
      ),
    );
  } catch (error) {
    $('#node-results').replaceChildren(h('p', { class: 'error' }, error.message));
  }
}

// ---- map: an equirectangular plot of the registry's coordinates, no tile server ----

let placesLoading = null;
/** A sample of the city for the outline (four pages at most: a large city is not fetched whole). */
function loadPlaces() {
  placesLoading ??= (async () => {
    const places = [];
    for (let offset = 0; offset < 4000; offset += 1000) {
      const page = await api(`/api/v1/nodes?limit=1000&offset=${offset}`);
      for (const v of page.items) places.push([v.node.lat, v.node.lon]);
      if (offset + 1000 >= page.total) break;
    }
    state.places = places;
  })()
    .catch(() => {})
    .finally(() => (placesLoading = null));
  return placesLoading;
}

function renderMap() {
  const svg = $('#city-map');
  const alerts = [...state.alerts.values()].filter((a) => a.state !== 'resolved' && a.lat !== undefined);
  const points = [...state.places, ...alerts.map((a) => [a.lat, a.lon])];
  if (!points.length) return svg.replaceChildren(h('text', { x: 20, y: 40 }, 'no coordinates yet'));
  const lats = points.map((p) => p[0]);
  const lons = points.map((p) => p[1]);
  const [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const kx = Math.cos(((minLat + maxLat) / 2) * (Math.PI / 180));
  const scale = Math.min(960 / ((maxLon - minLon) * kx || 1), 660 / (maxLat - minLat || 1));
  const x = (lon) => 20 + (lon - minLon) * kx * scale;
  const y = (lat) => 20 + (maxLat - lat) * scale;
  const order = { info: 0, minor: 1, major: 2, critical: 3 };
  svg.replaceChildren(
    h(
      'g',
      { class: 'city' },
      state.places.map(([lat, lon]) => h('circle', { cx: x(lon).toFixed(1), cy: y(lat).toFixed(1), r: 1.5 })),
    ),
    h(
      'g',
      { class: 'alerts' },
      alerts
        .sort((a, b) => order[a.severity] - order[b.severity])
        .map((a) =>
          h(
            'circle',
            {
              class: `sev-${a.severity}`,
              cx: x(a.lon).toFixed(1),
              cy: y(a.lat).toFixed(1),
              r: a.severity === 'critical' ? 9 : 6,
              'data-id': a.id,
            },
            h('title', {}, `${a.alertname}: ${a.summary}`),
          ),
        ),
    ),
  );
}

// ---- live updates: server-sent events read with fetch, so the token goes in a header, not the URL ----

async function live() {
  for (;;) {
    try {
      const res = await fetch('/api/v1/stream', { headers: state.token ? { authorization: `Bearer ${state.token}` } : {} });
      if (!res.ok) throw new Error(`${res.status} ${(await res.text()).slice(0, 200)}`);
      $('#live').textContent = 'live';
      $('#live').className = 'live on';
      $('#live').title = 'live updates';
      // Whatever changed before this stream opened (first load, or while it was away) is read once.
      void refresh();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (data) onEvent(JSON.parse(data));
        }
      }
    } catch (error) {
      $('#live').title = error.message;
    }
    state.kpisLive = false;
    $('#live').textContent = 'offline';
    $('#live').className = 'live off';
    await new Promise((r) => setTimeout(r, 3000));
  }
}

/** The operations of a `kpis-patch` event (JSON Patch as the server's core/json-patch.ts makes them: add, remove, replace). */
function applyPatch(doc, ops) {
  for (const { op, path, value } of ops) {
    const keys = path
      .split('/')
      .slice(1)
      .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop();
    let parent = doc;
    for (const k of keys) parent = parent?.[k];
    // A patch that does not fit: the stream is read again, which starts with the whole document.
    if (typeof parent !== 'object' || parent === null || last === undefined) throw new Error(`KPI patch ${path} does not apply`);
    if (op === 'remove') delete parent[last];
    else parent[last] = value;
  }
}

let boardQueued = false;
function onEvent(event) {
  if (event.type === 'kpis' || event.type === 'kpis-patch') {
    if (event.type === 'kpis') state.kpis = event.kpis;
    else applyPatch(state.kpis, event.patch);
    state.kpisLive = true;
    // One repaint per frame at most, however fast KPIs arrive.
    if (!boardQueued) {
      boardQueued = true;
      requestAnimationFrame(() => {
        boardQueued = false;
        renderBoard();
      });
    }
  } else if (event.type === 'alert') {
    rememberAlert(event.alert);
    renderAlerts();
  }
}

// ---- start ----

function showTab() {
  const tab = (location.hash || '#board').slice(1);
  for (const s of document.querySelectorAll('section.tab')) s.hidden = s.id !== tab;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', a.dataset.tab === tab);
  if (tab === 'map') renderMap();
}

function fillOptions(select, values) {
  const keep = select.value;
  select.replaceChildren(select.options[0], ...values.map((v) => h('option', { value: v }, v)));
  select.value = keep;
}

async function refresh() {
  try {
    const [kpis, alerts] = await Promise.all([
      api('/api/v1/kpis').catch((e) => (String(e.message).startsWith('503') ? null : Promise.reject(e))),
      api('/api/v1/alerts'),
    ]);
    // While the stream is live it holds the KPIs: patches apply to the document it sent, not to this one.
    if (kpis && !state.kpisLive) state.kpis = kpis;
    for (const a of alerts.items) rememberAlert(a);
    renderBoard();
    renderAlerts();
    const kinds = Object.keys(state.kpis?.nodes?.byKind ?? {}).sort();
    const districts = Object.keys(state.kpis?.nodes?.byDistrict ?? {}).sort();
    for (const form of ['#alert-filters', '#node-search']) {
      fillOptions($(`${form} [name=kind]`), kinds);
      fillOptions($(`${form} [name=district]`), districts);
    }
    say('');
    if (!state.places.length) void loadPlaces().then(renderMap);
  } catch (error) {
    say(`Cannot read the API: ${error.message}${String(error.message).startsWith('401') ? ' — sign in with a token' : ''}`, true);
  }
}

window.addEventListener('hashchange', showTab);
document.addEventListener('DOMContentLoaded', async () => {
  showTab();
  $('#signin [name=token]').value = state.token;
  $('#signin [name=by]').value = state.by;
  $('#signin').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.target).entries());
    state.token = f.token.trim();
    state.by = f.by.trim();
    localStorage.setItem('cb.token', state.token);
    localStorage.setItem('cb.by', state.by);
    say('saved');
    location.hash = '#board';
    void refresh();
  });
  $('#alert-filters').addEventListener('change', renderAlerts);
  $('#node-search').addEventListener('submit', searchNodes);
  await refresh();
  void live();
});
