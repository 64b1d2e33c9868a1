/**
 * The console as a crew uses it, in a real headless Chromium against `city-brain demo` with API
 * tokens: the KPI board fills, an alert arrives live, a crew acknowledges it with their name and a
 * note (the API shows both), a viewer cannot. Screenshots go to a temporary folder, or to
 * docs/screenshots/ (shown in the README) with UPDATE_SCREENSHOTS=1.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../core/index.js';
import { BROWSER_FIXTURE_TIMEOUT_MS, browserFixture } from '../infra/fixtures/browser.js';
import { waitFor } from '../test/helpers.js';
import { spawnStage, type StageProcess } from '../test/stage-process.js';

const CREW = 'crew-token-for-the-console-test';
const VIEWER = 'viewer-token-for-the-console-test';
const SHOTS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
    : mkdtempSync(join(tmpdir(), 'city-brain-console-'));

describe('web console in a real browser against the demo', () => {
  let browser: Browser;
  let demo: StageProcess;
  let base: string;

  beforeAll(async () => {
    browser = await browserFixture();
    demo = await spawnStage('demo', { MQTT_AUTH: 'on', API_TOKENS: `crew:${CREW},viewer:${VIEWER}`, LOG_LEVEL: 'warn' });
    base = `http://127.0.0.1:${demo.httpPort}`;
    mkdirSync(SHOTS, { recursive: true });
  }, BROWSER_FIXTURE_TIMEOUT_MS);
  afterAll(async () => {
    await browser?.close();
    demo?.child.kill('SIGTERM');
    await demo?.exited;
  });

  const apiAlerts = async (): Promise<Alert[]> =>
    ((await (await fetch(`${base}/api/v1/alerts`, { headers: { authorization: `Bearer ${CREW}` } })).json()) as { items: Alert[] }).items;

  async function signIn(page: Page, token: string, name: string) {
    page.on('dialog', (d) => void d.accept(d.type() === 'prompt' ? 'crew on site' : undefined));
    await page.goto(`${base}/#settings`);
    await page.fill('#signin [name=token]', token);
    await page.fill('#signin [name=by]', name);
    await page.click('#signin button[type=submit]');
    await page.waitForSelector('#live.on', { timeout: 30_000 });
  }

  it('shows every KPI section with values, an alert arriving live, and lets a crew acknowledge it with a note', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, CREW, 'Wang Lei, crew 7');
    const before = new Set((await apiAlerts()).map((a) => a.id));
    // The board: each section's headline a figure as readings come in (lighting and nodes a rate, springs wells in band, parking occupancy).
    // Profile kinds get a card of their own, made from their KPI section (nodes reporting of nodes).
    const headline = {
      lighting: /^\d+\.\d %$/,
      groundwater: /^\d+ \/ \d+$/,
      noise: /^(\d+\.\d %|–)$/,
      parking: /^\d+\.\d %$/,
      nodes: /^\d+\.\d %$/,
      waterlogging: /^[1-9]\d* \/ \d+$/,
      manhole: /^[1-9]\d* \/ \d+$/,
    };
    for (const [section, pattern] of Object.entries(headline)) {
      await waitFor(
        async () => pattern.test((await page.textContent(`#kpi-${section} .big strong`).catch(() => null)) ?? ''),
        60_000,
        `the ${section} headline (${pattern})`,
      );
    }
    // The board stays current through the stream's patches: later evaluations arrive, and none failed to apply (the stream is never read again).
    const evaluatedAt = async () => Number(await page.getAttribute('#evaluated', 'data-at'));
    const first = await evaluatedAt();
    await waitFor(async () => (await evaluatedAt()) > first, 30_000, 'a later evaluation on the board');
    expect(await page.getAttribute('#live', 'class')).toBe('live on');
    expect(await page.getAttribute('#live', 'title')).toBe('live updates');
    // Noise judges whole hours: in the demo's first hour its card says how many stations are incomplete.
    expect(await page.textContent('#kpi-noise .body')).toMatch(/\d+ stations; last judged hour/);
    expect(await page.locator('#kpi-lighting tbody tr').count()).toBe(5); // every road class against its target
    expect(await page.textContent('#kpi-waterlogging h2')).toBe('Road waterlogging');
    await page.screenshot({ path: join(SHOTS, 'console-board.png'), fullPage: true });

    // Alerts: one that was not there when the page loaded appears without a reload.
    await page.click('nav a[data-tab=alerts]');
    const fresh = await waitFor(
      async () => {
        const ids = await page.$$eval('#alert-list li.alert.firing', (items) => items.map((li) => li.getAttribute('data-id')!));
        return ids.find((id) => !before.has(id));
      },
      90_000,
      'an alert to appear live in the console',
    );
    const item = page.locator(`#alert-list li[data-id="${fresh}"]`);
    await item.locator('button', { hasText: 'Acknowledge' }).click();
    await page.waitForSelector(`#alert-list li[data-id="${fresh}"].acknowledged`, { timeout: 15_000 });
    const acked = (await apiAlerts()).find((a) => a.id === fresh)!;
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'Wang Lei, crew 7' });
    expect(acked.notes).toEqual([expect.objectContaining({ by: 'Wang Lei, crew 7', role: 'crew', action: 'ack', text: 'crew on site' })]);
    await page.screenshot({ path: join(SHOTS, 'console-alerts.png') });

    await page.click('nav a[data-tab=map]');
    // Alerts where their nodes are, over the city's nodes (grey), from the registry's coordinates.
    await page.waitForSelector('#city-map .city circle', { timeout: 30_000 });
    const placed = async () => (await apiAlerts()).filter((a) => a.state !== 'resolved' && a.lat !== undefined).length;
    // The demo city raises more over its first minutes (a slow machine gets there later): wait for several, all on the map.
    const shown = await waitFor(
      async () => {
        const [count, want] = [await page.locator('#city-map .alerts circle').count(), await placed()];
        return (count === want && count > 3 && count) || undefined;
      },
      60_000,
      'more than three placed active alerts, every one on the map',
    );
    expect(shown).toBeGreaterThan(3);
    await page.screenshot({ path: join(SHOTS, 'console-map.png'), fullPage: true });
    await page.close();
  }, 240_000);

  it('a viewer cannot acknowledge: the console says why and the alert stays firing', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }); // a phone
    await signIn(page, VIEWER, 'Zhao Min');
    await page.click('nav a[data-tab=alerts]');
    const target = await waitFor(
      async () => page.$$eval('#alert-list li.alert.firing', (items) => items.map((li) => li.getAttribute('data-id')!)[0]),
      60_000,
      'a firing alert in the console',
    );
    await page.locator(`#alert-list li[data-id="${target}"] button`, { hasText: 'Acknowledge' }).click();
    await page.waitForSelector('#message.error', { timeout: 15_000 });
    expect(await page.textContent('#message')).toMatch(/^Not done: 403: role viewer may not do this/);
    expect((await apiAlerts()).find((a) => a.id === target)!.state).toBe('firing');
    await page.screenshot({ path: join(SHOTS, 'console-phone.png') });
    await page.close();
  }, 120_000);
});
