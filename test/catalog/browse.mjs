// Drives Debian's chromium through playwright-core over a catalogue site that `strata catalog`
// wrote, and prints what a user would see as JSON, for the Rust tests to compare with
// `strata inspect`. Nothing is asserted here.
//
//   node browse.mjs SITE_DIR REQUEST_JSON
//
// REQUEST_JSON: {"queries": ["bash", "numpy>=2"], "pages": ["images/base.html"],
//                "compare": [{"left": "base@1.0-1-abc", "right": "tool@1.0-2-def"}] (optional),
//                "screenshots": "DIR" (optional)}
// Needs STRATA_TEST_PLAYWRIGHT_CORE (the package's directory) and STRATA_TEST_CHROMIUM.
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.STRATA_TEST_PLAYWRIGHT_CORE);
const [site, requestText] = process.argv.slice(2);
const request = JSON.parse(requestText);
const root = pathToFileURL(path.resolve(site)).href + "/";

const browser = await chromium.launch({
  executablePath: process.env.STRATA_TEST_CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu"],
});
const result = { console: [], outside: [], searches: {}, search_ms: {}, pages: {}, keyboard: {} };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Every request the pages make, to show none leaves the site's own files.
  context.on("request", (sent) => {
    if (!sent.url().startsWith(root)) result.outside.push(sent.url());
  });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      result.console.push(`${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => result.console.push(`pageerror: ${error.message}`));

  await page.goto(root + "index.html");
  result.title = await page.title();
  result.tree = await page.$$eval("svg a.node", (nodes) =>
    nodes.map((node) => {
      const box = node.querySelector("rect").getBoundingClientRect();
      return { name: node.dataset.image, href: node.getAttribute("href"), width: box.width, height: box.height };
    }));
  result.edges = await page.$$eval("svg path.edge", (edges) => edges.length);
  if (request.screenshots) {
    await page.screenshot({ path: path.join(request.screenshots, "catalog-family.png"), fullPage: false });
  }

  // The search box, found as a screen reader finds it: by its label.
  const box = page.getByLabel(/Package name/);
  result.search_box = { type: await box.getAttribute("type"), live: await page.$eval("#search-results", (region) => region.getAttribute("aria-live")) };
  for (const query of request.queries) {
    await box.fill("");
    const started = Date.now();
    await box.fill(query);
    // Time from the keystroke to the results, as the page measured it.
    result.search_ms[query] = await page.evaluate(() => window.STRATA_LAST_SEARCH_MS ?? null);
    result.searches[query] = {
      status: await page.$eval("#search-status", (status) => status.textContent),
      images: await page.$$eval("#search-list li", (items) => items.map((item) => item.dataset.image)),
      links: await page.$$eval("#search-list li a", (links) => links.map((link) => link.getAttribute("href"))),
      wall_ms: Date.now() - started,
    };
  }
  if (request.screenshots && request.queries.length) {
    await box.fill(request.queries[0]);
    await page.screenshot({ path: path.join(request.screenshots, "catalog-search.png") });
  }

  // Keyboard: from the top of the page, Tab reaches the search box, then (past it) the tree's
  // first image, and Enter there opens that image's page.
  await page.goto(root + "index.html");
  const focused = [];
  for (let step = 0; step < 12; step++) {
    await page.keyboard.press("Tab");
    focused.push(await page.evaluate(() => {
      const element = document.activeElement;
      if (!element) return null;
      return element.id || element.dataset?.image || element.getAttribute("href") || element.tagName;
    }));
  }
  result.keyboard.focused = focused;
  const treeStep = focused.findIndex((name, index) => index > 0 && result.tree.some((node) => node.name === name));
  if (treeStep >= 0) {
    await page.goto(root + "index.html");
    for (let step = 0; step <= treeStep; step++) await page.keyboard.press("Tab");
    await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
    result.keyboard.opened = page.url().slice(root.length);
  }

  for (const wanted of request.pages) {
    await page.goto(root + wanted);
    result.pages[wanted] = {
      heading: await page.$eval("h1", (heading) => heading.textContent),
      count: await page.$eval("#package-count", (count) => Number(count.dataset.count)).catch(() => null),
      rows: await page.$$eval("table.packages tbody tr", (rows) => rows.length),
      pull: await page.$eval("pre code", (code) => code.textContent).catch(() => null),
      parent: await page.$eval("dl.facts dd a", (link) => link.getAttribute("href")).catch(() => null),
      tests: await page.$$eval("ul.tests li code", (names) => names.map((name) => name.textContent)),
      platforms: await page.$$eval("ul.platforms li", (items) => items.map((item) => item.dataset.platform)),
      lint: await page.$$eval("table.lint tbody tr", (rows) => rows.map((row) => [...row.cells].map((cell) => cell.textContent.split(" ")[0]))),
      sbom: await page.$eval("a[download]", (link) => link.getAttribute("href")).catch(() => null),
      signature: await page.$eval("#signature", (signature) => signature.textContent).catch(() => null),
      provenance: await page.$eval("#provenance", (link) => link.getAttribute("href")).catch(() => null),
      base_digest: await page.$eval("#base-digest", (digest) => digest.textContent).catch(() => null),
      history: await page.$$eval("ol.history > li", (items) => items.map((item) => ({
        tag: item.dataset.tag,
        changes: [...item.querySelectorAll("ul.changes li")].map((change) => change.textContent.trim()),
        compare: item.querySelector("a[href*='compare.html']")?.getAttribute("href") ?? null,
      }))),
    };
    if (request.screenshots && wanted === request.pages[0]) {
      await page.screenshot({ path: path.join(request.screenshots, "catalog-image.png") });
    }
  }

  // The comparison page: two builds chosen in its selects, by their labels, as a user would.
  result.comparisons = [];
  for (const { left, right } of request.compare ?? []) {
    await page.goto(root + "compare.html");
    await page.getByLabel("Left").selectOption(left);
    await page.getByLabel("Right").selectOption(right);
    await page.waitForFunction(([one, other]) =>
      document.getElementById("left-heading").textContent === one
      && document.getElementById("right-heading").textContent === other, [left, right]);
    result.comparisons.push({
      left, right,
      status: await page.$eval("#compare-status", (status) => status.textContent),
      rows: await page.$$eval("#compare-table tbody tr", (rows) => rows.map((row) => [...row.cells].map((cell) => cell.textContent))),
    });
    if (request.screenshots && result.comparisons.length === 1) {
      await page.screenshot({ path: path.join(request.screenshots, "catalog-compare.png") });
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
