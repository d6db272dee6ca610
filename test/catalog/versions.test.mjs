// The catalogue's version order and constraints (crates/strata-catalog/site/versions.js), in
// Node: prints one JSON line of the checks that failed (none: `[]`).
//
//   node versions.test.mjs
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import vm from "node:vm";

const here = path.dirname(fileURLToPath(import.meta.url));
vm.runInThisContext(readFileSync(path.join(here, "../../crates/strata-catalog/site/versions.js"), "utf8"));
const { compare, satisfies } = globalThis.StrataVersions;
const failed = [];
const order = [
  // pip
  ["1.0.dev1", "1.0a1"], ["1.0a1", "1.0b2"], ["1.0b2", "1.0rc1"], ["1.0rc1", "1.0"],
  ["1.0", "1.0.post1"], ["1.9", "1.10"], ["2.0.1", "2.1"], ["2.0", "1:0.5"],
  // Debian
  ["1.0~rc1", "1.0"], ["1.0", "1.0+b1"], ["2.36-9+deb12u4", "2.36-9+deb12u14"], ["1:2.0", "2:0.1"],
  ["5.2.15-2", "5.2.15-2+b1"], ["0:9.9", "1:0.1"],
  // R and conda
  ["4.3.3", "4.4.0"], ["1.26.4", "2.0.1"],
];
for (const [low, high] of order) {
  if (compare(low, high) !== -1 || compare(high, low) !== 1) failed.push(`${low} < ${high}`);
}
for (const same of ["1.0", "2.36-9+deb12u14", "1:2.66-4"]) {
  if (compare(same, same) !== 0) failed.push(`${same} == ${same}`);
}
const constraints = [
  ["2.0.1", ">=", "2", true], ["1.26.4", ">=", "2", false], ["1.26.4", "<", "2", true],
  ["2.36-9+deb12u14", "==", "2.36.*", true], ["2.361", "==", "2.36.*", false],
  ["2.36.1", "!=", "2.36.*", false], ["1.4.2", "~=", "1.4", true], ["2.0", "~=", "1.4", false],
  ["1.4.5", "~=", "1.4.2", true], ["1.5.0", "~=", "1.4.2", false], ["1.0", "==", "1.0", true],
  ["1.0", "!=", "1.0", false], ["3.11.2", ">", "3.11", true], ["3.11", "<=", "3.11.0", true],
];
for (const [version, operator, wanted, expected] of constraints) {
  if (satisfies(version, operator, wanted) !== expected) failed.push(`${version} ${operator} ${wanted} should be ${expected}`);
}
console.log(JSON.stringify(failed));
