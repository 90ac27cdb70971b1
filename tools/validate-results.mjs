// Validates uptake's result documents against their JSON Schemas, as other tools read them.
//   node tools/validate-results.mjs PATH...   each must validate (exit 1 otherwise; 2 on bad usage)
// A PATH that is a results folder: its summary.json against docs/summary.schema.json, and its
// forecast.json, when it has one, against docs/forecast.schema.json. A PATH that is a file (the
// output of `uptake forecast --format json --out F.json`): against the schema its "schema"
// member names.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// ajv's default strictness: the schemas are the project's own, so a keyword ajv does not know
// is a mistake in them and fails the compilation.
const ajv = new Ajv2020({ allErrors: true });
addFormats(ajv);
const schemaOf = (name) => ajv.compile(JSON.parse(readFileSync(join(root, "docs", name), "utf8")));
const summary = schemaOf("summary.schema.json");
const forecast = schemaOf("forecast.schema.json");
const bySchemaName = { "uptake.summary/v1": summary, "uptake.forecast/v1": forecast };
const inFolder = [
  { file: "summary.json", validate: summary, required: true },
  { file: "forecast.json", validate: forecast, required: false },
];

const args = process.argv.slice(2);
if (args.length === 0 || args.some((arg) => arg.startsWith("-"))) {
  console.error("usage: validate-results.mjs PATH...   (results folders, or result files such as forecast.json)");
  process.exit(2);
}

// One line per violation, at its JSON Pointer, so a drifted field is found without reading the
// schema. An if/then/else's own "must match" line is left out: the failures beneath it say more.
function describe(errors) {
  return errors.filter((error) => error.keyword !== "if").map((error) => {
    const at = error.instancePath || "(the document)";
    const key = error.params?.additionalProperty ?? error.params?.unevaluatedProperty;
    return `  ${at}: ${error.message}${key === undefined ? "" : ` '${key}'`}`;
  }).join("\n");
}

let failures = 0;
function fail(message) {
  console.error(message);
  failures++;
}

function read(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    fail(`${path}: not JSON: ${error.message}`);
    return undefined;
  }
}

function check(path, document, validate) {
  if (validate(document)) console.log(`ok: ${path}`);
  else fail(`${path}:\n${describe(validate.errors)}`);
}

for (const path of args) {
  if (!existsSync(path)) {
    fail(`${path}: no such folder or file`);
  } else if (statSync(path).isDirectory()) {
    for (const { file, validate, required } of inFolder) {
      const at = join(path, file);
      if (!existsSync(at)) {
        if (required) fail(`${at}: missing`);
        continue;
      }
      const document = read(at);
      if (document !== undefined) check(at, document, validate);
    }
  } else {
    const document = read(path);
    if (document === undefined) continue;
    const validate = bySchemaName[document?.schema];
    if (validate) check(path, document, validate);
    else fail(`${path}: its "schema" is ${JSON.stringify(document?.schema)}, not one of ${Object.keys(bySchemaName).join(", ")}`);
  }
}
process.exit(failures ? 1 : 0);
