// The catalogue's package search: every image and tag that has a package, read from the index
// `search-index.js` defines (window.STRATA_SEARCH), in the page, with nothing fetched.
"use strict";
(function () {
  const index = window.STRATA_SEARCH;
  const input = document.getElementById("search");
  const status = document.getElementById("search-status");
  const list = document.getElementById("search-list");
  if (!index || !input) return;

  // PEP 503 names: case and runs of `-`, `_`, `.` do not count.
  const normalize = (name) => name.toLowerCase().replace(/[-_.]+/g, "-");
  const names = Object.keys(index.packages).map((name) => [normalize(name), name]);

  const { satisfies } = window.StrataVersions;
  const SHOWN = 5;
  const QUERY = /^\s*([A-Za-z0-9][A-Za-z0-9._+-]*)\s*(?:(===|==|!=|~=|>=|<=|>|<|=)\s*([0-9A-Za-z][^\s,;]*))?\s*$/;

  function search(text) {
    const parsed = QUERY.exec(text);
    if (!parsed) return null;
    const [, name, operator, wanted] = parsed;
    const query = normalize(name);
    // A constraint is about one package, so its name must match whole; a bare name lists
    // every package whose name holds it (`cuda`).
    const hits = new Map();
    for (const [normal, original] of names) {
      if (operator ? normal !== query : !normal.includes(query)) continue;
      for (const [image, version, ecosystem] of index.packages[original]) {
        if (operator && !satisfies(version, operator, wanted)) continue;
        if (!hits.has(image)) hits.set(image, []);
        hits.get(image).push([original, version, ecosystem]);
      }
    }
    return [...hits.entries()].sort((a, b) => a[0] - b[0]);
  }

  function show() {
    const started = performance.now();
    try {
      render();
    } finally {
      // For the browser tests and benchmarks: how long the last search took, in the page.
      window.STRATA_LAST_SEARCH_MS = performance.now() - started;
    }
  }

  function render() {
    const text = input.value.trim();
    list.replaceChildren();
    if (!text) {
      status.textContent = "Type a package to list every image and tag that has it.";
      return;
    }
    const hits = search(text);
    if (hits === null) {
      status.textContent = `“${text}” is not a package name with an optional constraint (numpy>=2).`;
      return;
    }
    status.textContent = hits.length === 0
      ? `No image has ${text}.`
      : `${hits.length} image${hits.length === 1 ? "" : "s"} ${hits.length === 1 ? "has" : "have"} ${text}:`;
    for (const [imageIndex, packages] of hits) {
      const image = index.images[imageIndex];
      const item = document.createElement("li");
      item.dataset.image = image.name;
      const link = document.createElement("a");
      link.href = image.html;
      link.textContent = image.name;
      item.append(link);
      if (image.tags.length) item.append(` (${image.tags.join(", ")})`);
      const found = document.createElement("span");
      found.className = "found";
      // A broad query (`lib`) matches hundreds of packages an image: the first few say enough.
      const shown = packages.slice(0, SHOWN).map(([name, version, ecosystem]) => `${name} ${version} (${ecosystem})`);
      if (packages.length > SHOWN) shown.push(`and ${packages.length - SHOWN} more`);
      found.textContent = " — " + shown.join(", ");
      item.append(found);
      list.append(item);
    }
  }
  input.addEventListener("input", show);
  document.getElementById("search-form").addEventListener("submit", (event) => event.preventDefault());
  const initial = new URLSearchParams(location.search).get("q");
  if (initial) { input.value = initial; }
  show();
})();
