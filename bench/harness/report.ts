// Writes a benchmark's results as JSON under bench/results/ and prints a table.

import { mkdir, writeFile } from "node:fs/promises";

export async function report(name: string, result: Record<string, unknown>, lines: string[]): Promise<void> {
  const dir = new URL("../results/", import.meta.url);
  await mkdir(dir, { recursive: true });
  const doc = { name, date: new Date().toISOString(), ...result };
  await writeFile(new URL(`${name}.json`, dir), `${JSON.stringify(doc, null, 2)}\n`);
  process.stdout.write(`\n== ${name} ==\n${lines.join("\n")}\n`);
}
