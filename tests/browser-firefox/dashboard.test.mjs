// The dashboard in headless Firefox: the page opens from a #key= link,
// follows the API live, drives a top-up through it and settles one with
// the clock. Driven over WebDriver BiDi by puppeteer-core (no geckodriver,
// no browser download); tests/run.sh runs it only where Firefox is
// installed (FIREFOX names it). Screenshots go to
// target/browser-screenshots/firefox-*.png.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import puppeteer from "puppeteer-core";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SHOTS = join(process.env.CARGO_TARGET_DIR || join(ROOT, "target"), "browser-screenshots");
const WAIT = 15_000;

let server, url, browser, profile;

before(async () => {
  const bin = process.env.TOPUPS_MOCK_BIN || join(ROOT, "target/debug/topups-mock");
  server = spawn(bin, ["--port", "0", "--clock", "manual", "--seed", "16", "--log-level", "warn"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: server.stdout });
  url = await new Promise((ok, fail) => {
    lines.once("line", (line) => {
      const m = line.match(/listening on (http:\S+)/);
      if (m) ok(m[1]); else fail(new Error(`no address in ${line}`));
    });
    server.once("exit", (code) => fail(new Error(`server exited with ${code}`)));
    server.once("error", fail);
  });
  mkdirSync(SHOTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), "topups-mock-firefox-"));
  browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: process.env.FIREFOX || "firefox-esr",
    headless: true,
    userDataDir: profile,
    defaultViewport: { width: 1360, height: 900 },
    // Nothing may leave the machine: every connection but loopback's goes
    // to a proxy that is not there (tests/run.sh also runs this suite in a
    // loopback-only network namespace where it can), and the services
    // that phone home are off.
    extraPrefsFirefox: {
      "network.proxy.type": 1,
      "network.proxy.http": "127.0.0.1",
      "network.proxy.http_port": 9,
      "network.proxy.ssl": "127.0.0.1",
      "network.proxy.ssl_port": 9,
      "network.proxy.allow_hijacking_localhost": false,
      "network.dns.disablePrefetch": true,
      "network.captive-portal-service.enabled": false,
      "network.connectivity-service.enabled": false,
      "app.update.enabled": false,
      "browser.safebrowsing.malware.enabled": false,
      "browser.safebrowsing.phishing.enabled": false,
      "datareporting.policy.dataSubmissionEnabled": false,
      "toolkit.telemetry.enabled": false,
      "services.settings.server": "http://127.0.0.1:9/",
    },
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function api(key, method, path, params) {
  const res = await fetch(url + path, {
    method,
    headers: {
      Authorization: `Bearer ${key}`,
      ...(params ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
    },
    body: params ? new URLSearchParams(params).toString() : undefined,
  });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

const key = () => `sk_test_firefox_${Math.random().toString(36).slice(2, 10)}`;

// The text of a cell of a top-up's row, or "" while it is not listed.
const cell = (page, id, cls) =>
  page.evaluate((sel) => document.querySelector(sel)?.textContent.trim() ?? "",
    `#topups tr[data-id="${id}"] .${cls}`);

async function until(what, check) {
  const end = Date.now() + WAIT;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("the page works in Firefox: live list, fail with a code, settle by the clock", async () => {
  const k = key();
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  await page.goto(`${url}/dashboard#key=${k}`);
  await until("the stream connects", async () =>
    (await page.$eval("#live", (e) => e.textContent)) === "live");
  assert.equal(await page.evaluate(() => location.hash), "", "the key left the address bar");

  // Created through the API, shown without a reload.
  const marker = await page.evaluate(() => (window.__marker = Math.random()));
  const a = await api(k, "POST", "/v1/topups", { amount: "1500", currency: "usd" });
  const b = await api(k, "POST", "/v1/topups", { amount: "700", currency: "eur" });
  await until("both top-ups are listed", async () =>
    (await cell(page, a.id, "status-cell")) === "pending" &&
    (await cell(page, b.id, "status-cell")) === "pending");
  assert.equal(await page.evaluate(() => window.__marker), marker, "the page reloaded");

  // Fail one with a code, by a click.
  await page.select("#fail-code", "account_closed");
  await page.click(`button[aria-label="Fail ${a.id}"]`);
  await until("the top-up shows failed", async () => (await cell(page, a.id, "status-cell")) === "failed");
  assert.match(await cell(page, a.id, "failure"), /account_closed/);
  assert.equal((await api(k, "GET", `/v1/topups/${a.id}`)).failure_code, "account_closed");

  // The clock settles the other one.
  await page.$eval("#advance-seconds", (e) => { e.value = "10"; });
  await page.click("#advance-form button");
  await until("the other settles", async () => (await cell(page, b.id, "status-cell")) === "succeeded");
  await page.screenshot({ path: join(SHOTS, "firefox-01-failed-and-settled.png") });

  assert.deepEqual(errors, []);
  await page.close();
});
