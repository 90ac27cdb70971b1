// Checks deploy/kubernetes/ as run-sharded applies it:
// - every manifest parses once its ${...} values are filled in, run-sharded fills in exactly the
//   names the manifests use, and what it applies keeps every argument a string;
// - the shard Job is an Indexed Job whose completion index is the shard, every shard starts at the
//   common --start-at, and uptake runs without a shell wrapper;
// - no shard is retried and none ends the others: backoffLimitPerIndex 0, and a podFailurePolicy
//   that fails the Job on bad input (2), fails only the index on a shard's own verdict (1, 3) or
//   on an eviction; both Jobs have a deadline and Pod Security "restricted" settings;
// - the merge Job merges then gates, and nothing passes --allow-missing or --allow-partial;
// - run-sharded waits with kubectl wait, not a polling loop, and (run against a fake kubectl)
//   exits 3 when a shard failed, was evicted or never ran, the gate's code otherwise, 2 on bad
//   usage;
// - the scenario the ConfigMap names exists, and every uptake option the manifests use is one
//   the built binary lists in its --help (so a renamed option cannot silently break them).
//   node tools/check-kubernetes.mjs PATH/TO/uptake
import { readFileSync, existsSync, mkdtempSync, mkdirSync, writeFileSync, chmodSync, rmSync, readdirSync } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
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
const values = { SHARDS: "4", THREADS: "2", IMAGE: "uptake:test", TARGET: "http://target:8080", START_AT: "1790000000", DEADLINE: "1260", RUN: "run-test" };
let failures = 0;
const check = (condition, what) => {
  if (!condition) {
    console.error(`FAIL: ${what}`);
    failures++;
  } else console.log(`ok: ${what}`);
};
// As envsubst with an explicit list: only these names are replaced; $(JOB_COMPLETION_INDEX) stays.
const fill = (text) => text.replace(/\$\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
const parse = (text, what) => {
  const documents = parseAllDocuments(text);
  for (const document of documents) if (document.errors.length) throw new Error(`${what}: ${document.errors[0].message}`);
  return documents.map((document) => document.toJS()).filter(Boolean);
};
const load = (file) => parse(fill(readFileSync(join(folder, file), "utf8")), file);
const files = readdirSync(folder);
const runSharded = readFileSync(join(folder, "run-sharded"), "utf8");

const [shards] = load("shards-job.yaml");
const [merge] = load("merge-job.yaml");
const [volume] = load("results-volume.yaml");
const [kustomization] = load("kustomization.yaml");

// The names run-sharded hands envsubst are exactly those the manifests use.
const used = new Set(["shards-job.yaml", "merge-job.yaml"].flatMap((file) => [...readFileSync(join(folder, file), "utf8").matchAll(/\$\{(\w+)\}/g)].map((m) => m[1])));
const listed = new Set([...(runSharded.match(/^variables='([^']*)'/m)?.[1] ?? "").matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
check(used.size > 0 && [...used].every((name) => listed.has(name)) && [...listed].every((name) => used.has(name)), `run-sharded fills in exactly the manifests' values (${[...used].join(" ")})`);
check([...used].every((name) => name in values), "this check gives every such value");

// --- The shard Job ---
const shardSpec = shards.spec;
const shardPod = shardSpec.template.spec;
const shardContainer = shardPod.containers.find((container) => container.name === "uptake");
check(shards.kind === "Job" && shardSpec.completionMode === "Indexed", "the shard Job is an Indexed Job");
check(shardSpec.completions === 4 && shardSpec.parallelism === 4, "completions and parallelism are the shard count");
check(shardSpec.backoffLimitPerIndex === 0, "a failed shard is not retried late (backoffLimitPerIndex 0)");
check(shardSpec.backoffLimit === undefined, "no backoffLimit: it would end every shard at the first failed pod");
check(shardSpec.maxFailedIndexes === undefined, "no maxFailedIndexes: every shard runs to its own end");
check(shardPod.restartPolicy === "Never", "shard pods are not restarted (restartPolicy Never, which podFailurePolicy needs)");
check(shardSpec.activeDeadlineSeconds === Number(values.DEADLINE), "the shard Job's deadline is run-sharded's ${DEADLINE}");
check(shardContainer !== undefined, "the shard container is named uptake, as the podFailurePolicy rules say");
const shell = /^(\/bin\/|\/usr\/bin\/)?(ba|da)?sh$/;
check(shardContainer.command?.length === 1 && shardContainer.command[0] === "uptake", "the shard pod runs uptake itself");
check(![...(shardContainer.command ?? []), ...(shardContainer.args ?? [])].some((word) => shell.test(word) || word === "-c"), "no shell wraps the shard's uptake");
const shardArgs = shardContainer.args;
const after = (option) => shardArgs[shardArgs.indexOf(option) + 1];
check(shardArgs[0] === "run" && shardArgs[1] === "/scenario/scenario.yaml", "each shard runs the ConfigMap's scenario");
check(after("--shard") === "$(JOB_COMPLETION_INDEX)/4", "each pod runs shard JOB_COMPLETION_INDEX of 4");
check(after("--start-at") === "1790000000", "every shard starts at the common instant");
// Live metrics: the pod listens on every interface at the port its annotations and its named
// container port (which podmonitor.yaml scrapes) give.
const annotations = shardSpec.template.metadata.annotations ?? {};
const metricsPort = (after("--metrics-listen") ?? "").split(":").pop();
check(after("--metrics-listen")?.startsWith("0.0.0.0:") && annotations["prometheus.io/scrape"] === "true" && annotations["prometheus.io/port"] === metricsPort,
  "each shard serves live metrics on every interface of its pod, at the port its annotations name");
check((shardContainer.ports ?? []).some((port) => port.name === "metrics" && String(port.containerPort) === metricsPort), "the metrics port is a named container port");
const [podMonitor] = load("podmonitor.yaml");
check(podMonitor.kind === "PodMonitor" && podMonitor.spec.podMetricsEndpoints.every((endpoint) => endpoint.port === "metrics"), "podmonitor.yaml scrapes the named metrics port");
check(after("--target") === "http://target:8080", "every shard sends to the target");
check(after("--out") === "/results/run-test/shard-$(JOB_COMPLETION_INDEX)", "each shard writes its own results folder");
// Kubernetes expands $(VAR) in args only from env declared in the container; others stay as written.
const env = Object.fromEntries((shardContainer.env ?? []).map((variable) => [variable.name, variable]));
const references = [...shardArgs.join(" ").matchAll(/\$\((\w+)\)/g)].map((m) => m[1]);
check(references.length > 0 && references.every((name) => name in env), "every $(VAR) in the shard's args is declared in its env");
check(env.JOB_COMPLETION_INDEX?.valueFrom?.fieldRef?.fieldPath === "metadata.annotations['batch.kubernetes.io/job-completion-index']", "JOB_COMPLETION_INDEX comes from the pod's completion index");

// The pod failure policy, evaluated as the Job controller does: the first matching rule acts;
// a failed pod no rule matches counts against backoffLimitPerIndex (0: its index fails).
const rules = shardSpec.podFailurePolicy?.rules ?? [];
const actionFor = ({ exitCode, conditions = [] }) => {
  for (const rule of rules) {
    if (rule.onExitCodes && (rule.onExitCodes.containerName ?? "uptake") === "uptake") {
      const listed = rule.onExitCodes.values.includes(exitCode);
      if (rule.onExitCodes.operator === "In" ? listed : !listed) return rule.action;
    }
    if (rule.onPodConditions?.some((condition) => conditions.includes(condition.type) && (condition.status ?? "True") === "True")) return rule.action;
  }
  return "count";
};
check(rules.length > 0 && rules.every((rule) => !rule.onExitCodes || rule.onExitCodes.containerName === "uptake"), "every exit code rule names the uptake container");
check(rules.every((rule) => !rule.onExitCodes || (rule.onExitCodes.operator !== "In" || !rule.onExitCodes.values.includes(0))), "no In rule lists exit code 0 (Kubernetes refuses it)");
check(rules.every((rule) => !rule.onExitCodes || rule.onExitCodes.values.every((value, i, all) => i === 0 || all[i - 1] < value)), "exit codes are listed in increasing order, once each (Kubernetes requires it)");
for (const [pod, expected, what] of [
  [{ exitCode: 2 }, "FailJob", "bad input (exit 2) fails the whole Job"],
  [{ exitCode: 1 }, "FailIndex", "a shard's failed threshold (exit 1) fails only its index"],
  [{ exitCode: 3 }, "FailIndex", "a shard that fell behind (exit 3) fails only its index"],
  [{ exitCode: 137, conditions: ["DisruptionTarget"] }, "FailIndex", "an evicted or preempted shard fails only its index"],
  [{ exitCode: 2, conditions: ["DisruptionTarget"] }, "FailIndex", "an eviction never fails the whole Job, whatever the exit code"],
  [{ exitCode: 137 }, "count", "any other failure (OOM kill, crash) counts against backoffLimitPerIndex 0: its index fails"],
]) {
  check(actionFor(pod) === expected, `podFailurePolicy: ${what}`);
}

// --- The merge Job ---
const mergeContainer = merge.spec.template.spec.containers[0];
const mergeCommand = mergeContainer.args.join(" ");
check(/uptake merge \/results\/run-test\/shard-\* --out \/results\/run-test\/merged/.test(mergeCommand), "the merge Job joins every shard");
check(/uptake report \/results\/run-test\/merged/.test(mergeCommand), "the merge Job writes the report, for a failed run too");
check(/exec uptake gate \/results\/run-test\/merged\s*$/.test(mergeCommand.replace(/ --junit \S+$/, "")), "the merge Job ends with the gate, whose exit code is the pod's");
check(merge.spec.backoffLimit === 0 && merge.spec.template.spec.restartPolicy === "Never", "the merge runs once");
check(Number.isInteger(merge.spec.activeDeadlineSeconds) && merge.spec.activeDeadlineSeconds > 0, "the merge Job has a deadline");

// --- Both Jobs: Pod Security "restricted" ---
for (const [name, job] of [["shard", shards], ["merge", merge]]) {
  const pod = job.spec.template.spec;
  const context = pod.securityContext ?? {};
  check(context.runAsNonRoot === true && context.runAsUser === 10001, `${name} pods run as the image's unprivileged user`);
  check(context.seccompProfile?.type === "RuntimeDefault", `${name} pods use the runtime's default seccomp profile`);
  check(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC && !(pod.volumes ?? []).some((volume) => volume.hostPath), `${name} pods share nothing with their node`);
  for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
    const own = container.securityContext ?? {};
    check(own.allowPrivilegeEscalation === false && own.privileged !== true, `${name} container ${container.name} cannot gain privileges`);
    check((own.capabilities?.drop ?? []).includes("ALL") && !own.capabilities?.add, `${name} container ${container.name} drops every capability`);
    check(own.readOnlyRootFilesystem === true, `${name} container ${container.name} has a read-only root filesystem`);
    check(own.runAsUser === undefined || own.runAsUser !== 0, `${name} container ${container.name} does not run as root`);
  }
}

// --- Everything together ---
for (const option of ["--allow-missing", "--allow-partial"]) {
  check(files.every((file) => !readFileSync(join(folder, file), "utf8").includes(option)), `nothing passes ${option}: a missing shard is never waved through`);
}
check(volume.spec.accessModes.includes("ReadWriteMany"), "the results volume is shared by every node");
const claims = [shards, merge].map((job) => job.spec.template.spec.volumes.find((v) => v.persistentVolumeClaim).persistentVolumeClaim.claimName);
check(claims.every((claim) => claim === volume.metadata.name), "both Jobs mount the results volume");
const scenarioFile = kustomization.configMapGenerator[0].files[0].split("=")[1];
check(existsSync(join(folder, scenarioFile)), `the ConfigMap's scenario ${scenarioFile} exists`);
check(kustomization.resources.every((file) => existsSync(join(folder, file))), "every kustomize resource exists");

// --- run-sharded, as written ---
const code = runSharded.split("\n").filter((line) => !/^\s*#/.test(line)).map((line) => line.replace(/\s+#\s.*$/, "")).join("\n");
check(spawnSync("bash", ["-n", join(folder, "run-sharded")]).status === 0, "run-sharded is valid bash");
check(/(kubectl|"\$\{kc\[@\]\}")\s+wait\b[^\n]*--for=condition=/.test(code) && /\bComplete\b/.test(code) && /\bFailed\b/.test(code), "run-sharded waits for the Jobs with kubectl wait (Complete or Failed)");
check(!/(^|[\s;&|(])sleep\b/m.test(code), "run-sharded does not poll with sleep");

// --- run-sharded, run against a fake cluster ---
// A fake kubectl answers from a JSON state shaped as the API's objects (Jobs, Pods), evaluating
// the jsonpath templates run-sharded asks with; it records what was applied.
const fakeKubectl = String.raw`
import { readFileSync, appendFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
const { parseAllDocuments, stringify } = createRequire(import.meta.url)(process.env.FAKE_YAML);
const state = JSON.parse(readFileSync(process.env.FAKE_CLUSTER, "utf8"));
let args = process.argv.slice(2);
const at = args.indexOf("--namespace");
if (at >= 0) args.splice(at, 2);
const option = (name) => args.find((arg) => arg.startsWith(name + "="))?.slice(name.length + 1) ?? args[args.indexOf(name) + 1];
const quit = (status, text = "") => { if (text) process.stderr.write(text + "\n"); process.exit(status); };
// A jsonpath subset: {.a.b}, {.a[*]}, {.a[?(@.k=="v")].b}, escaped dots, {range ...}{end}, {"\n"}.
function select(nodes, path) {
  const steps = path.match(/\.(?:\\\.|[^.\[\\])+|\[\*\]|\[\?\(@[^)]*\)\]|\[\d+\]/g) ?? [];
  for (const step of steps) {
    const next = [];
    for (const node of nodes) {
      if (node === undefined || node === null) continue;
      if (step === "[*]") next.push(...(Array.isArray(node) ? node : Object.values(node)));
      else if (step.startsWith("[?")) {
        const [, field, value] = step.match(/^\[\?\(@((?:\.[\w-]+)+)\s*==\s*"([^"]*)"\)\]$/);
        for (const item of Array.isArray(node) ? node : []) if (String(select([item], field)[0]) === value) next.push(item);
      } else if (step.startsWith("[")) next.push(node[Number(step.slice(1, -1))]);
      else next.push(node[step.slice(1).replace(/\\\./g, ".")]);
    }
    nodes = next.filter((node) => node !== undefined && node !== null);
  }
  return nodes;
}
function render(template, node) {
  const parts = template.match(/\{[^{}]*\}|[^{}]+/g) ?? [];
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (!part.startsWith("{")) { out += part; continue; }
    const inner = part.slice(1, -1).trim();
    if (inner.startsWith("range ")) {
      let depth = 1, j = i + 1;
      for (; j < parts.length; j++) {
        if (parts[j].startsWith("{range ")) depth++;
        if (parts[j] === "{end}" && --depth === 0) break;
      }
      const body = parts.slice(i + 1, j).join("");
      for (const item of select([node], inner.slice(6).trim())) out += render(body, item);
      i = j;
    } else if (inner.startsWith('"')) out += JSON.parse(inner);
    else out += select([node], inner).map((value) => (typeof value === "object" ? JSON.stringify(value) : String(value))).join(" ");
  }
  return out;
}
const [verb, kind, name] = args;
if (verb === "delete") quit(0);
if (verb === "kustomize") {
  const kustomization = readFileSync(join(kind, "kustomization.yaml"), "utf8");
  const scenario = kustomization.match(/scenario\.yaml=(\S+)/)[1];
  if (!existsSync(resolve(kind, scenario))) quit(1, "fake kustomize: no scenario " + scenario);
  // As kustomize: the resources parsed and written out again, so quotes go where YAML needs them.
  const { resources } = parseAllDocuments(kustomization)[0].toJS();
  process.stdout.write(resources.flatMap((file) => parseAllDocuments(readFileSync(join(kind, file), "utf8")).map((d) => stringify(d.toJS()))).join("---\n"));
  quit(0);
}
if (verb === "apply") {
  const source = option("-f");
  const text = readFileSync(source === "-" ? 0 : source, "utf8");
  appendFileSync(process.env.FAKE_APPLIED, text + "\n---\n");
  quit(state.applyFails ? 1 : 0, state.applyFails ? "fake kubectl: the server refused it" : "");
}
if (verb === "wait") {
  const job = state.jobs[kind.replace(/^jobs?\//, "")];
  const wanted = option("--for").replace(/^condition=/, "");
  if (!job.ends) quit(1, "error: timed out waiting for the condition");
  if (job.ends === wanted) quit(0);
  setTimeout(() => quit(1, "error: timed out waiting for the condition"), 60000);
} else if (verb === "get" && (kind === "job" || kind === "jobs")) {
  process.stdout.write(render(option("-o").replace(/^jsonpath=/, ""), state.jobs[name]));
} else if (verb === "get" && kind === "pods") {
  const uid = option("-l").replace(/^batch\.kubernetes\.io\/controller-uid=/, "");
  const items = state.pods.filter((pod) => pod.metadata.labels["batch.kubernetes.io/controller-uid"] === uid);
  process.stdout.write(render(option("-o").replace(/^jsonpath=/, ""), { kind: "List", items }));
} else if (verb === "logs") {
  process.stdout.write("uptake gate: (merge log)\n");
} else quit(1, "fake kubectl: unexpected " + args.join(" "));
`;
const scratch = mkdtempSync(join(tmpdir(), "check-kubernetes-"));
try {
  const bin = join(scratch, "bin");
  mkdirSync(bin);
  writeFileSync(join(scratch, "kubectl.mjs"), fakeKubectl);
  writeFileSync(join(bin, "kubectl"), `#!/bin/sh\nexec "${process.execPath}" "${join(scratch, "kubectl.mjs")}" "$@"\n`);
  chmodSync(join(bin, "kubectl"), 0o755);
  // envsubst (gettext-base) where the machine has it; else one as it behaves with a list of names.
  if (spawnSync("sh", ["-c", "command -v envsubst"]).status !== 0) {
    writeFileSync(join(scratch, "envsubst.mjs"), String.raw`
import { readFileSync } from "node:fs";
const names = new Set([...(process.argv[2] ?? "").matchAll(/\$\{?(\w+)\}?/g)].map((m) => m[1]));
process.stdout.write(readFileSync(0, "utf8").replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a, b) => (names.has(a ?? b) ? process.env[a ?? b] ?? "" : whole)));
`);
    writeFileSync(join(bin, "envsubst"), `#!/bin/sh\nexec "${process.execPath}" "${join(scratch, "envsubst.mjs")}" "$@"\n`);
    chmodSync(join(bin, "envsubst"), 0o755);
  }
  const pod = (uid, index, phase, exitCode, extra = {}) => ({
    metadata: { name: `pod-${uid}-${index}`, labels: { "batch.kubernetes.io/controller-uid": uid }, annotations: { "batch.kubernetes.io/job-completion-index": String(index) } },
    status: {
      phase,
      reason: extra.podReason,
      conditions: extra.disrupted ? [{ type: "DisruptionTarget", status: "True", reason: "EvictionByEvictionAPI" }] : [{ type: "Ready", status: "False" }],
      containerStatuses: exitCode === undefined ? [] : [{ name: "uptake", state: { terminated: { exitCode, reason: extra.reason ?? (exitCode ? "Error" : "Completed") } } }],
    },
  });
  const shardPods = (codes) => codes.map((entry, index) => (entry === null ? null : typeof entry === "object" ? pod("uid-shards", index, entry.phase ?? "Failed", entry.exitCode, entry) : pod("uid-shards", index, entry === 0 ? "Succeeded" : "Failed", entry))).filter(Boolean);
  const job = (uid, ends, reason, failedIndexes) => ({
    ends,
    metadata: { uid },
    status: { failedIndexes, conditions: ends ? [{ type: ends === "Failed" ? "FailureTarget" : "SuccessCriteriaMet", status: "True" }, { type: ends, status: "True", reason, message: reason && `Job has failed: ${reason}` }] : [] },
  });
  const cluster = ({ shards: codes, ends = "Complete", reason, failedIndexes, merge = 0, applyFails = false }) => ({
    applyFails,
    jobs: { "uptake-shards": job("uid-shards", ends, reason, failedIndexes), "uptake-merge": job("uid-merge", merge === 0 ? "Complete" : merge === null ? null : "Failed", merge ? "BackoffLimitExceeded" : undefined) },
    pods: [...shardPods(codes), ...(merge === null ? [] : [pod("uid-merge", 0, merge === 0 ? "Succeeded" : "Failed", merge)])],
  });
  const run = (args, state) => {
    writeFileSync(join(scratch, "cluster.json"), JSON.stringify(state ?? cluster({ shards: [0, 0, 0] })));
    writeFileSync(join(scratch, "applied.yaml"), "");
    const outcome = spawnSync("bash", [join(folder, "run-sharded"), ...args], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_YAML: createRequire(import.meta.url).resolve("yaml"), FAKE_CLUSTER: join(scratch, "cluster.json"), FAKE_APPLIED: join(scratch, "applied.yaml") },
      encoding: "utf8",
      timeout: 60000,
    });
    const applied = parse(readFileSync(join(scratch, "applied.yaml"), "utf8"), "what run-sharded applied");
    return { status: outcome.status, output: outcome.stdout + outcome.stderr, applied };
  };
  const usual = ["--target", "http://target:8080", "--shards", "3"];

  const help = run(["--help"]);
  check(help.status === 0 && /--target URL/.test(help.output) && /Examples:/.test(help.output) && /Exit code/.test(help.output), "run-sharded --help shows its usage, examples and exit codes");
  for (const [args, what] of [
    [[], "without --target"],
    [["--target"], "with --target and no value"],
    [["--target", "http://t", "--shards", "0"], "with --shards 0"],
    [["--target", "http://t", "--lead", "soon"], "with --lead soon"],
    [["--target", "http://t", "--frobnicate"], "with an unknown option"],
    [["--target", "http://t", "--scenario", "/nonexistent.yaml"], "with a scenario that does not exist"],
    [["--target", "not a url"], "with a target that is not a URL"],
  ]) {
    const outcome = run(args);
    check(outcome.status === 2 && outcome.applied.length === 0, `run-sharded ${what} exits 2 and applies nothing`);
  }

  const passing = run([...usual, "--lead", "30"], cluster({ shards: [0, 0, 0] }));
  check(passing.status === 0, `every shard and the gate pass: run-sharded exits 0 (got ${passing.status})`);
  const applied = Object.fromEntries(passing.applied.filter((document) => document.kind === "Job").map((document) => [document.metadata.name, document]));
  check(!/\$\{\w+\}/.test(JSON.stringify(passing.applied)), "run-sharded fills in every ${...} value");
  const jobs = Object.values(applied);
  check(jobs.length === 2 && jobs.every((job) => job.spec.template.spec.containers.every((container) => [...(container.command ?? []), ...(container.args ?? [])].every((word) => typeof word === "string"))), "every command and argument applied is a string, as Kubernetes requires (a bare 1790000000 is a number)");
  check(jobs.every((job) => Number.isInteger(job.spec.activeDeadlineSeconds)) && Number.isInteger(applied["uptake-shards"]?.spec.completions), "deadlines and counts applied are numbers");
  // The default scenario's schedule lasts 60 s: deadline = lead 30 + 60 + a margin of 600.
  check(applied["uptake-shards"]?.spec.activeDeadlineSeconds === 30 + 60 + 600, "the shards' deadline is the lead, the scenario's schedule and the margin");
  check(applied["uptake-shards"]?.spec.completions === 3 && applied["uptake-merge"] !== undefined, "run-sharded applies the 3 shards, then the merge");
  const gov24 = run([...usual, "--lead", "0", "--scenario", join(root, "scenarios/gov24.yaml")], cluster({ shards: [0, 0, 0] }));
  check(gov24.status === 0 && gov24.applied.find((document) => document.metadata?.name === "uptake-shards")?.spec.activeDeadlineSeconds === 300 + 600, "--scenario replaces the ConfigMap's scenario, and its schedule sets the deadline");

  for (const [state, expected, what, says] of [
    [{ shards: [0, 1, 0], ends: "Failed", reason: "FailedIndexes", failedIndexes: "1", merge: 1 }, 1, "a shard's own threshold failed, and so did the merged gate", /1\/3: exit 1/],
    [{ shards: [3, 0, 0], ends: "Failed", reason: "FailedIndexes", failedIndexes: "0", merge: 3 }, 3, "a shard fell behind, and the merged gate says the run cannot be trusted", /0\/3: exit 3/],
    [{ shards: [0, 1, 0], ends: "Failed", reason: "FailedIndexes", failedIndexes: "1", merge: 0 }, 0, "a shard's own threshold failed, but the merged whole passes", /1\/3: exit 1/],
    [{ shards: [0, { exitCode: 143, disrupted: true }, 0], ends: "Failed", reason: "FailedIndexes", failedIndexes: "1", merge: 0 }, 3, "a shard was evicted, though the merge of the rest passes", /shard 1\/3: evicted/],
    [{ shards: [0, { exitCode: 3, disrupted: true }, 0], ends: "Failed", reason: "FailedIndexes", failedIndexes: "1", merge: 0 }, 3, "an evicted shard that wrote an interrupted run", /shard 1\/3: evicted/],
    [{ shards: [0, 0, { exitCode: 137, reason: "OOMKilled" }], ends: "Failed", reason: "FailedIndexes", failedIndexes: "2", merge: 0 }, 3, "a shard was killed out of memory", /shard 2\/3: exited 137 \(OOMKilled\)/],
    [{ shards: [0, null, 0], ends: "Failed", reason: "DeadlineExceeded", merge: 0 }, 3, "a shard never ran before the deadline", /shard 1\/3: no pod ended/],
    [{ shards: [0, { phase: "Pending", exitCode: undefined, podReason: "Unschedulable" }, 0], ends: "Failed", reason: "DeadlineExceeded", merge: 0 }, 3, "a shard still pending at the deadline", /shard 1\/3: uptake did not finish/],
    [{ shards: [2, null, null], ends: "Failed", reason: "PodFailurePolicy", merge: 2 }, 3, "bad input failed the shards Job", /shard 0\/3: exited 2/],
    [{ shards: [0, 0], ends: "Complete", merge: 0 }, 3, "a shard has no pod at all, though the Job says Complete", /shard 2\/3: no pod ended/],
    [{ shards: [0, 0, 0], ends: "Failed", reason: "FailedIndexes", failedIndexes: "1", merge: 0 }, 3, "Kubernetes lists as failed a shard whose pod says otherwise", /shard 1\/3: failed, Kubernetes says/],
    [{ shards: [0, 0, 0], merge: 2 }, 3, "the merge wrote no verdict", /the merge gave no verdict/],
    [{ shards: [0, 0, 0], merge: null }, 3, "the merge Job never ended", /the merge gave no verdict/],
    [{ shards: [0, 0, 0], ends: null }, 3, "the shards Job never ended", /not merging/],
    [{ shards: [0, 0, 0], applyFails: true }, 3, "the cluster refused the manifests (never a 1, which reads as a verdict)", /cannot be trusted/],
  ]) {
    const outcome = run(usual, cluster(state));
    const merged = outcome.applied.some((document) => document.metadata?.name === "uptake-merge");
    const shouldMerge = state.ends !== null && !state.applyFails;
    check(outcome.status === expected && says.test(outcome.output) && merged === shouldMerge, `${what}: run-sharded exits ${expected}${shouldMerge ? ", after the merge" : ", without a merge"} (got ${outcome.status}${merged ? ", merged" : ""})`);
    if (outcome.status !== expected || !says.test(outcome.output)) console.error(outcome.output.replace(/^/gm, "    "));
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

// --- Every --option used must be known to the command that takes it ---
const help = (command) => execFileSync(uptake, [command, "--help"], { encoding: "utf8" });
const runHelp = help(shardArgs[0]);
for (const option of shardArgs.filter((word) => word.startsWith("--"))) check(runHelp.includes(option), `uptake ${shardArgs[0]} knows ${option}`);
for (const segment of mergeCommand.split(/&&|;/)) {
  const command = ["merge", "report", "gate"].find((name) => segment.includes(`uptake ${name} `));
  if (!command) continue;
  const listed = help(command);
  for (const option of segment.match(/--[a-z][a-z-]*/g) ?? []) check(listed.includes(option), `uptake ${command} knows ${option}`);
}
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
check(/ENTRYPOINT \["uptake"\]/.test(dockerfile) && /\/usr\/local\/bin\/uptake/.test(dockerfile), "the image has uptake on its PATH, as the shard Job's command names it");
check(/USER uptake/.test(dockerfile) && /--uid 10001/.test(dockerfile), "the image's user is the pods' uid 10001");
process.exit(failures ? 1 : 0);
