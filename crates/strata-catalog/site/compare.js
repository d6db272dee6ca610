// Side-by-side comparison of two builds: each image's package lists are in `data/<image>.js`
// (a script, so file:// pages can load it), loaded when chosen.
"use strict";
(function () {
  const images = JSON.parse(document.getElementById("compare-data").textContent);
  const left = document.getElementById("left");
  const right = document.getElementById("right");
  const status = document.getElementById("compare-status");
  const table = document.getElementById("compare-table");
  const body = table.querySelector("tbody");
  window.STRATA_PACKAGES = window.STRATA_PACKAGES || {};

  for (const select of [left, right]) {
    images.forEach((image, imageIndex) => {
      const group = document.createElement("optgroup");
      group.label = image.name;
      image.builds.forEach((tag, buildIndex) => {
        const option = document.createElement("option");
        option.value = `${image.name}@${tag}`;
        option.dataset.image = imageIndex;
        option.dataset.build = buildIndex;
        option.textContent = `${image.name} ${tag}${buildIndex === 0 && image.builds.length > 1 ? " (newest)" : ""}`;
        group.append(option);
      });
      select.append(group);
    });
  }
  const wanted = new URLSearchParams(location.search);
  left.value = wanted.get("left") || left.options[0]?.value || "";
  right.value = wanted.get("right") || right.options[Math.min(1, right.options.length - 1)]?.value || "";

  const loading = new Map();
  function load(image) {
    if (window.STRATA_PACKAGES[image.name]) return Promise.resolve(window.STRATA_PACKAGES[image.name]);
    if (!loading.has(image.name)) {
      loading.set(image.name, new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = image.script;
        script.onload = () => resolve(window.STRATA_PACKAGES[image.name]);
        script.onerror = () => reject(new Error(`cannot load ${image.script}`));
        document.body.append(script);
      }));
    }
    return loading.get(image.name);
  }
  async function packagesOf(select) {
    const option = select.selectedOptions[0];
    if (!option) return null;
    const image = images[Number(option.dataset.image)];
    const data = await load(image);
    const packages = new Map();
    for (const [ecosystem, location, name, version] of data.builds[Number(option.dataset.build)].packages) {
      packages.set(`${ecosystem}\u0000${location}\u0000${name}`, { ecosystem, location, name, version });
    }
    return { label: option.value, packages };
  }

  async function show() {
    const history = new URLSearchParams({ left: left.value, right: right.value });
    window.history.replaceState(null, "", `?${history}`);
    let one, other;
    try {
      [one, other] = await Promise.all([packagesOf(left), packagesOf(right)]);
    } catch (error) {
      status.textContent = error.message;
      return;
    }
    if (!one || !other) return;
    document.getElementById("left-heading").textContent = one.label;
    document.getElementById("right-heading").textContent = other.label;
    const keys = [...new Set([...one.packages.keys(), ...other.packages.keys()])].sort();
    const rows = [];
    let same = 0;
    for (const key of keys) {
      const a = one.packages.get(key), b = other.packages.get(key);
      if (a && b && a.version === b.version) { same++; continue; }
      const known = a || b;
      const row = document.createElement("tr");
      row.className = !a ? "added" : !b ? "removed" : "changed";
      for (const text of [known.name, known.ecosystem + (known.location && known.ecosystem !== "deb" ? ` (${known.location})` : ""), a ? a.version : "—", b ? b.version : "—"]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      rows.push(row);
    }
    body.replaceChildren(...rows);
    table.hidden = rows.length === 0;
    status.textContent = rows.length === 0
      ? `The same packages, ${same} of them.`
      : `${rows.length} package${rows.length === 1 ? " differs" : "s differ"}; ${same} the same.`;
  }
  left.addEventListener("change", show);
  right.addEventListener("change", show);
  show();
})();
