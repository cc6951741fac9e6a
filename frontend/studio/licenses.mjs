// Writes the licences of every package the studio's bundle may contain (the lockfile's
// non-development packages) beside the built assets, as studio.LICENSES.txt: the bundle ships
// their code, so it ships their notices too.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
const out = [];
for (const [path, info] of Object.entries(lock.packages).sort()) {
  if (!path || info.dev) continue;
  const name = path.replace(/^.*node_modules\//, "");
  const files = readdirSync(path).filter((f) => /^(licen[cs]e|copying|notice)/i.test(f)).sort();
  const texts = files.map((f) => readFileSync(join(path, f), "utf8").trim());
  out.push(`${name} ${info.version} (${info.license || "see its package"})\n\n${texts.join("\n\n") || "(no licence file in the package)"}`);
}
writeFileSync("../../src/itinera/web/static/studio/studio.LICENSES.txt",
  "The journey studio's bundle (studio.js, studio.css) contains code of these packages.\n\n" +
  out.join("\n\n" + "-".repeat(72) + "\n\n") + "\n");
