// GraphQL Code Generator (typescript-operations) generates the types of the
// first-party documents from the served schema, and they compile with `tsc --strict`.
// strictScalars makes an unmapped custom scalar an error: Date and DateTime map to string,
// as their @specifiedBy (RFC 3339) says.
//
// The client preset's persisted documents map (persistedDocuments: true) is written to
// FLOWPILOT_CODEGEN_OUT, where the Python side loads it as the safelist.
//
// Run by tests/clients/test_codegen.py: FLOWPILOT_SCHEMA (schema.graphql),
// FLOWPILOT_QUERIES_DIR, FLOWPILOT_CODEGEN_OUT.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { generate } from "@graphql-codegen/cli";

const schemaPath = process.env.FLOWPILOT_SCHEMA;
const queriesDir = process.env.FLOWPILOT_QUERIES_DIR;
const codegenOut = process.env.FLOWPILOT_CODEGEN_OUT;
assert.ok(schemaPath && queriesDir && codegenOut, "FLOWPILOT_SCHEMA, _QUERIES_DIR, _CODEGEN_OUT must be set");
const SCALARS = { Date: "string", DateTime: "string" };
const clientsDir = dirname(dirname(fileURLToPath(import.meta.url)));
const tsc = join(clientsDir, "node_modules", "typescript", "bin", "tsc");

// Uses the generated types the way a dashboard would; `tsc --strict` checks them.
const USAGE = `
import type { OverviewTabQuery, FlowQualityTabQuery, RecordFlowMatchMutation, Period } from "./operations";

export function headline(data: OverviewTabQuery): string {
  const from: string = data.overview.from;
  const asOf: string = data.overview.asOf;
  const rate: number | null = data.overview.resolutionRate;
  return \`\${from} \${asOf} \${rate ?? "n/a"}\`;
}

export function firstFlowName(data: FlowQualityTabQuery): string | undefined {
  return data.flowQuality.flows[0]?.flow.name;
}

export function counted(data: RecordFlowMatchMutation): boolean {
  return data.recordFlowMatch.counted;
}

export const period: Period = "LAST_7_DAYS";
`;

test("codegen's operation types for queries/ compile with tsc --strict", async () => {
  const out = mkdtempSync(join(tmpdir(), "flowpilot-codegen-"));
  const [file] = await generate(
    {
      schema: schemaPath,
      documents: [join(queriesDir, "*.graphql")],
      silent: true,
      generates: {
        [join(out, "operations.ts")]: {
          // typescript-operations 6 emits the enums and inputs it needs itself.
          plugins: ["typescript-operations"],
          config: {
            strictScalars: true,
            scalars: SCALARS,
            enumsAsTypes: true,
            avoidOptionals: true,
          },
        },
      },
    },
    true,
  );
  const generated = readFileSync(file.filename, "utf8");
  for (const name of ["OverviewTabQuery", "CoverageTabQuery", "FlowQualityTabQuery", "PsaTabQuery", "RecordFlowMatchMutation"]) {
    assert.match(generated, new RegExp(`export type ${name}\\b`), name);
  }
  // strictScalars refuses an unmapped scalar; the mapped ones are inlined as string.
  assert.match(generated, /export type DateRangeInput = \{[^}]*from: string;/s, "Date input");
  assert.match(generated, /export type OverviewTabQuery = \{[^;]*asOf: string/s, "DateTime output");
  assert.doesNotMatch(generated, /: any\b|\['output'\]: unknown/, "every field has a concrete type");
  writeFileSync(join(out, "usage.ts"), USAGE);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [tsc, "--strict", "--noEmit", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", join(out, "operations.ts"), join(out, "usage.ts")],
    { cwd: out },
  ).catch((error) => {
    throw new Error(`tsc failed:\n${error.stdout}${error.stderr}`);
  });
  console.log(`codegen: ${generated.split("\n").length} lines of types; tsc --strict: ok ${stdout}`);
});

test("the client preset writes a persisted documents map of queries/", async () => {
  const files = await generate(
    {
      schema: schemaPath,
      documents: [join(queriesDir, "*.graphql")],
      silent: true,
      generates: {
        [`${codegenOut}/`]: {
          preset: "client",
          presetConfig: { persistedDocuments: true, fragmentMasking: false },
          config: { strictScalars: true, scalars: SCALARS },
        },
      },
    },
    true,
  );
  const map = files.find((file) => file.filename.endsWith("persisted-documents.json"));
  assert.ok(map, "persisted-documents.json");
  assert.equal(Object.keys(JSON.parse(map.content)).length, 11);
});
