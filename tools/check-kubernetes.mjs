// Checks deploy/kubernetes/ as run-sharded applies it: every manifest parses once its ${...}
// values are filled in, the shard Job is an Indexed Job whose completion index is the shard,
// every shard starts at the common --start-at, the merge Job merges then gates, the scenario the
// ConfigMap names exists, and every uptake option the manifests use is one the built binary
// lists in its --help (so a renamed option cannot silently break the deployment).
//   node tools/check-kubernetes.mjs PATH/TO/uptake
import { readFileSync, existsSync } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const folder = join(root, "deploy/kubernetes");
const uptake = process.argv[2];
if (!uptake) {
  console.error("usage: check-kubernetes.mjs PATH/TO/uptake");
  process.exit(2);
}
const values = { SHARDS: "4", THREADS: "2", IMAGE: "uptake:test", TARGET: "http://target:8080", START_AT: "1790000000", RUN: "run-test" };
let failures = 0;
const check = (condition, what) => {
  if (!condition) {
    console.error(`FAIL: ${what}`);
    failures++;
  } else console.log(`ok: ${what}`);
};
// As envsubst with an explicit list: only these names are replaced; $JOB_COMPLETION_INDEX stays.
const fill = (text) => text.replace(/\$\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
const load = (file) => {
  const documents = parseAllDocuments(fill(readFileSync(join(folder, file), "utf8")));
  for (const document of documents) if (document.errors.length) throw new Error(`${file}: ${document.errors[0].message}`);
  return documents.map((document) => document.toJS());
};

const [shards] = load("shards-job.yaml");
const [merge] = load("merge-job.yaml");
const [volume] = load("results-volume.yaml");
const [kustomization] = load("kustomization.yaml");

check(shards.kind === "Job" && shards.spec.completionMode === "Indexed", "the shard Job is an Indexed Job");
check(shards.spec.completions === 4 && shards.spec.parallelism === 4, "completions and parallelism are the shard count");
check(shards.spec.backoffLimit === 0, "a failed shard is not retried late");
const shardCommand = shards.spec.template.spec.containers[0].args.join(" ");
check(shardCommand.includes('--shard "${JOB_COMPLETION_INDEX}/4"'), "each pod runs shard JOB_COMPLETION_INDEX of 4");
check(shardCommand.includes('--start-at "1790000000"'), "every shard starts at the common instant");
check(shardCommand.includes("/results/run-test/shard-${JOB_COMPLETION_INDEX}"), "each shard writes its own results folder");
// A shard's own verdict (1, 3) must not fail its pod, which would end the other shards; bad
// input (2) must. The command runs in a shell with uptake standing in as a function.
for (const [code, expected] of [[0, 0], [1, 0], [2, 2], [3, 0]]) {
  const outcome = spawnSync("/bin/sh", ["-c", `uptake() { return ${code}; }; ${shardCommand}`], { env: { ...process.env, JOB_COMPLETION_INDEX: "2", TARGET: "http://t" }, encoding: "utf8" });
  check(outcome.status === expected, `a shard whose uptake run exits ${code} ends its pod with ${expected}`);
}
const mergeCommand = merge.spec.template.spec.containers[0].args.join(" ");
check(/uptake merge \/results\/run-test\/shard-\* --out \/results\/run-test\/merged/.test(mergeCommand), "the merge Job joins every shard");
check(/exec uptake gate \/results\/run-test\/merged/.test(mergeCommand), "the merge Job ends with the gate, whose exit code it takes");
check(volume.spec.accessModes.includes("ReadWriteMany"), "the results volume is shared by every node");
const claims = [shards, merge].map((job) => job.spec.template.spec.volumes.find((v) => v.persistentVolumeClaim).persistentVolumeClaim.claimName);
check(claims.every((claim) => claim === volume.metadata.name), "both Jobs mount the results volume");
const scenarioFile = kustomization.configMapGenerator[0].files[0].split("=")[1];
check(existsSync(join(folder, scenarioFile)), `the ConfigMap's scenario ${scenarioFile} exists`);
check(kustomization.resources.every((file) => existsSync(join(folder, file))), "every kustomize resource exists");

// Every --option used must be known to the command that takes it.
const help = (command) => execFileSync(uptake, [command, "--help"], { encoding: "utf8" });
for (const [text, commands] of [[shardCommand, ["run"]], [mergeCommand, ["merge", "report", "gate"]]]) {
  for (const segment of text.split(/&&|;/)) {
    const command = commands.find((name) => segment.includes(`uptake ${name} `));
    if (!command) continue;
    const listed = help(command);
    for (const option of segment.match(/--[a-z][a-z-]*/g) ?? []) check(listed.includes(option), `uptake ${command} knows ${option}`);
  }
}
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
check(/ENTRYPOINT \["uptake"\]/.test(dockerfile), "the image's entry point is uptake");
check(/USER uptake/.test(dockerfile) && shards.spec.template.spec.securityContext.runAsNonRoot, "the image and the pods run unprivileged");
process.exit(failures ? 1 : 0);
