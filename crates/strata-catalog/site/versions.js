// Version comparison for the catalogue's search: one order for pip, Debian, conda and R
// versions, and PEP 440's operators over it. Used by search.js in the page and by
// test/catalog/versions.test.mjs in Node.
"use strict";
(function (global) {
  // One comparison for pip, Debian, conda and R versions: an epoch (`1:`) first, then runs of
  // digits by value and of letters by text; a release outranks its pre-releases
  // (`2.0 > 2.0rc1`, Debian's `~`) and its local or patch suffixes outrank it (`2.0.post1`).
  function tokens(version) {
    const epoch = /^(\d+):/.exec(version);
    const rest = epoch ? version.slice(epoch[0].length) : version;
    const parts = rest.toLowerCase().match(/\d+|[a-z]+|~|\+/g) || [];
    return [epoch ? Number(epoch[1]) : 0, parts];
  }
  // Pre-release marks, in their order (PEP 440's dev < a < b < rc; Debian's `~` first).
  const PRE = new Map([["~", 0], ["dev", 1], ["a", 2], ["alpha", 2], ["b", 3], ["beta", 3],
    ["c", 4], ["rc", 4], ["pre", 4], ["preview", 4]]);
  function compare(a, b) {
    const [epochA, left] = tokens(a);
    const [epochB, right] = tokens(b);
    if (epochA !== epochB) return epochA < epochB ? -1 : 1;
    for (let i = 0; i < Math.max(left.length, right.length); i++) {
      const x = left[i], y = right[i];
      if (x === undefined) return PRE.has(y) ? 1 : -1;
      if (y === undefined) return PRE.has(x) ? -1 : 1;
      const numeric = /^\d/.test(x), otherNumeric = /^\d/.test(y);
      if (numeric && otherNumeric) {
        const difference = Number(x) - Number(y);
        if (difference !== 0) return difference < 0 ? -1 : 1;
      } else if (numeric !== otherNumeric) {
        return numeric ? 1 : -1;
      } else if (x !== y) {
        if (PRE.has(x) !== PRE.has(y)) return PRE.has(x) ? -1 : 1;
        if (PRE.has(x) && PRE.get(x) !== PRE.get(y)) return PRE.get(x) < PRE.get(y) ? -1 : 1;
        return x < y ? -1 : 1;
      }
    }
    return 0;
  }
  function satisfies(version, operator, wanted) {
    if (wanted.endsWith(".*") && (operator === "==" || operator === "!=")) {
      const matches = hasPrefix(version, wanted.slice(0, -2));
      return operator === "==" ? matches : !matches;
    }
    const order = compare(version, wanted);
    switch (operator) {
      case "==": case "=": case "===": return order === 0;
      case "!=": return order !== 0;
      case ">=": return order >= 0;
      case "<=": return order <= 0;
      case ">": return order > 0;
      case "<": return order < 0;
      case "~=": {
        const release = wanted.split(".");
        const prefix = release.slice(0, Math.max(1, release.length - 1)).join(".");
        return order >= 0 && hasPrefix(version, prefix);
      }
    }
    return false;
  }
  // `2.36` is a prefix of `2.36`, `2.36.1` and Debian's `2.36-9`, not of `2.361`.
  function hasPrefix(version, prefix) {
    return version.startsWith(prefix) && !/^[0-9a-z]/i.test(version.slice(prefix.length));
  }
  global.StrataVersions = { compare, satisfies };
})(typeof window === "undefined" ? globalThis : window);
