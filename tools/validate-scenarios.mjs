// Validates scenario files against scenarios/scenario.schema.json, as editors do.
//   node tools/validate-scenarios.mjs FILE...            each must validate (exit 1 otherwise)
//   node tools/validate-scenarios.mjs --expect-invalid FILE...   each must fail to validate
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { parse } from "yaml";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const schema = JSON.parse(readFileSync(join(root, "scenarios/scenario.schema.json"), "utf8"));
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);

let args = process.argv.slice(2);
const expectInvalid = args[0] === "--expect-invalid";
if (expectInvalid) args = args.slice(1);
if (args.length === 0) {
  console.error("usage: validate-scenarios.mjs [--expect-invalid] FILE...");
  process.exit(2);
}

let failures = 0;
for (const file of args) {
  let document;
  try {
    // YAML 1.2 core schema, as yaml-cpp reads it: dates stay strings.
    document = parse(readFileSync(file, "utf8"));
  } catch (error) {
    if (expectInvalid) { console.log(`ok (invalid YAML as expected): ${file}`); continue; }
    console.error(`${file}: not YAML: ${error.message}`);
    failures++;
    continue;
  }
  const valid = validate(document);
  if (valid === !expectInvalid) {
    console.log(`ok: ${file}${expectInvalid ? " (rejected: " + ajv.errorsText(validate.errors) + ")" : ""}`);
  } else {
    failures++;
    console.error(expectInvalid ? `${file}: validated but should not` : `${file}: ${ajv.errorsText(validate.errors, { separator: "\n  " })}`);
  }
}
process.exit(failures ? 1 : 0);
