#!/usr/bin/env python3
"""Latent Studio against DMLP, side by side: for each job, runs `latent-cli bench <job> --json`
and then bench/dmlp_bench.py (in the bench venv of bench/setup.sh) with the same shapes,
device and thread count, prints ours / DMLP / ratio / target, writes the raw results to
bench/results/<date>-<device>-<preset>.json and rewrites this run's table in
docs/PERFORMANCE.md (between <!-- results:begin --> and <!-- results:end -->).

    bench/setup.sh && python3 bench/compare.py                      # CPU, preset small
    python3 bench/compare.py --device cuda --preset dmlp
    python3 bench/compare.py --quick                                # smoke run: tiny sizes, no doc

A job that fails is reported in the table and the others still run; the exit status is 1
when any job failed. Standard library only: runs with any python3.
"""
import argparse
import datetime
import json
import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JOBS = ["train", "reconstruct", "sample", "latency"]
# ours / DMLP, per job and device (the targets).
TARGETS = {"train": {"cpu": 1.5, "cuda": 2.0}, "reconstruct": {"cpu": 10.0, "cuda": 10.0},
           "sample": {"cpu": 1.3, "cuda": 3.0}}
LATENCY_TARGETS_MS = {"reconstruct_ms": 50.0, "interpolate10_ms": 200.0}  # p95, ours only
# --quick: sizes that finish in seconds (numbers are meaningless; it checks the plumbing).
QUICK = {"reps": 1, "warmup": 0, "latency_reps": 3, "latency_warmup": 1, "train_batch": 4, "length": 8,
         "n": 8, "recon_batch": 4, "max_tokens": 8, "sample_n": 8, "steps": 20}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    cache = os.environ.get("LATENT_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "latent-studio"))
    p.add_argument("--cli", default="build/bin/latent-cli", help="latent-cli binary (default build/bin/latent-cli)")
    p.add_argument("--python", default=os.path.join(cache, "bench-venv", "bin", "python"),
                   help="python of the bench venv that has DMLP (default: the one bench/setup.sh makes)")
    p.add_argument("--jobs", default=",".join(JOBS), help="comma-separated subset of " + ",".join(JOBS))
    p.add_argument("--preset", default="small", choices=["small", "dmlp"], help="shapes of both sides (default small)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=0, help="CPU threads for both sides (0: torch's default on both)")
    p.add_argument("--reps", type=int, default=5, help="timed repetitions per job and side (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=0, help="train: sentences per step (default: the preset's)")
    p.add_argument("--length", type=int, default=20, help="words per random sentence, BOS/EOS excluded (default 20)")
    p.add_argument("--n", type=int, default=1000, help="reconstruct: sentences (default 1000)")
    p.add_argument("--recon-batch", type=int, default=128, help="reconstruct: sentences per batch (default 128)")
    p.add_argument("--max-tokens", type=int, default=20, help="reconstruct: tokens decoded each, no EOS stop (default 20)")
    p.add_argument("--sample-n", type=int, default=100, help="sample: latents per run (default 100)")
    p.add_argument("--steps", type=int, default=0, help="sample: diffusion steps T (default: the preset's, 2000)")
    p.add_argument("--also-uncached", action="store_true",
                   help="reconstruct: also time ours with --uncached (DMLP's re-run of the prefix) as an extra row")
    p.add_argument("--model", default="build/resources/models/default",
                   help="latency: model folder for `latent-cli bench latency` (default: the embedded default model)")
    p.add_argument("--latency-reps", type=int, default=50, help="latency: repetitions (default 50)")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 rep, tiny sizes; does not touch the doc")
    p.add_argument("--no-doc", action="store_true", help="do not rewrite docs/PERFORMANCE.md")
    p.add_argument("--results-dir", default=os.path.join(ROOT, "bench", "results"))
    p.add_argument("--doc", default=os.path.join(ROOT, "docs", "PERFORMANCE.md"))
    p.add_argument("--timeout", type=int, default=7200, help="seconds allowed to one side of one job (default 7200)")
    a = p.parse_args(argv)
    a.jobs = [j.strip() for j in a.jobs.split(",") if j.strip()]
    bad = [j for j in a.jobs if j not in JOBS]
    if bad:
        p.error("unknown job(s) %s (known: %s)" % (", ".join(bad), ", ".join(JOBS)))
    a.latency_warmup = 5
    if a.quick:
        a.reps, a.warmup, a.latency_reps, a.latency_warmup = (QUICK[k] for k in ("reps", "warmup", "latency_reps", "latency_warmup"))
        a.batch, a.length, a.n, a.recon_batch = QUICK["train_batch"], QUICK["length"], QUICK["n"], QUICK["recon_batch"]
        a.max_tokens, a.sample_n, a.steps = QUICK["max_tokens"], QUICK["sample_n"], QUICK["steps"]
    a.cli = resolve(a.cli)
    a.model = resolve(a.model)
    return a


def shown(path):
    """A path relative to the repository root when inside it."""
    rel = os.path.relpath(os.path.abspath(path), ROOT)
    return path if rel.startswith("..") else rel


def resolve(path):
    """A relative path as given if it exists from here, else relative to the repository root."""
    return path if os.path.isabs(path) or os.path.exists(path) else os.path.join(ROOT, path)


def commands(a, job):
    """(ours, DMLP's) argument lists for one job; DMLP's is None for ours-only jobs."""
    common = ["--reps", str(a.reps), "--warmup", str(a.warmup), "--device", a.device, "--seed", str(a.seed)]
    if a.threads > 0:
        common += ["--threads", str(a.threads)]
    shapes = ["--preset", a.preset]
    if job == "train":
        sizes = ["--length", str(a.length)] + (["--batch", str(a.batch)] if a.batch > 0 else [])
    elif job == "reconstruct":
        sizes = ["--n", str(a.n), "--length", str(a.length), "--max-tokens", str(a.max_tokens),
                 "--batch", str(a.recon_batch)]
    elif job == "sample":
        sizes = ["--n", str(a.sample_n)] + (["--steps", str(a.steps)] if a.steps > 0 else [])
    else:  # latency: ours only, on a real model (text in, text out)
        lat = ["--reps", str(a.latency_reps), "--warmup", str(a.latency_warmup), "--device", a.device]
        lat += ["--threads", str(a.threads)] if a.threads > 0 else []
        target = ["--model", a.model] if os.path.isdir(a.model) else ["--preset", a.preset]
        return [a.cli, "bench", "latency"] + target + lat + ["--json"], None
    ours = [a.cli, "bench", job] + shapes + sizes + common + ["--json"]
    dmlp = [a.python, os.path.join(ROOT, "bench", "dmlp_bench.py"), job] + shapes + sizes + common
    return ours, dmlp


MISSING_HINT = {"ours": "build it (packaging/bootstrap.sh build), or give --cli",
                "dmlp": "run bench/setup.sh, or give --python"}


def run_json(cmd, timeout, side):
    """(parsed JSON object, None) or (None, error text)."""
    print("[compare] " + " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
    if not os.path.exists(cmd[0]):
        return None, "not found: %s (%s)" % (shown(cmd[0]), MISSING_HINT[side])
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except FileNotFoundError:
        return None, "not found: %s" % cmd[0]
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % timeout
    if p.returncode != 0:
        lines = [l for l in (p.stderr or p.stdout).strip().splitlines() if l.strip()]
        return None, "exit %d: %s" % (p.returncode, lines[-1][:300] if lines else "no output")
    for text in [p.stdout] + p.stdout.strip().splitlines()[::-1]:  # the whole output, else its last JSON line
        try:
            obj = json.loads(text)
            if isinstance(obj, dict):
                return obj, None
        except ValueError:
            continue
    return None, "no JSON object on stdout"


def median(res, key):
    return res[key]["median"]


def check_same(ours, dmlp, keys):
    """Names of the fields the two sides report differently (shapes, threads, device)."""
    return ["%s %s vs %s" % (k, ours[k], dmlp[k]) for k in keys if k in ours and k in dmlp and ours[k] != dmlp[k]]


def compare_job(a, job):
    """Runs one job on both sides; returns (rows, raw results)."""
    ours_cmd, dmlp_cmd = commands(a, job)
    ours, ours_err = run_json(ours_cmd, a.timeout, "ours")
    raw = {"ours": ours, "ours_error": ours_err, "ours_command": ours_cmd}
    if job == "latency":
        rows = []
        for key, label in (("reconstruct_ms", "latency: reconstruct 1 sentence"),
                           ("interpolate10_ms", "latency: 10-point interpolation")):
            row = {"job": label, "metric": "p95 ms", "ours": None, "dmlp": None, "ratio": None,
                   "target": "<= %g ms" % LATENCY_TARGETS_MS[key], "met": None, "error": ours_err, "note": ""}
            if ours:
                try:
                    row["ours"] = ours[key]["p95"]
                    row["met"] = row["ours"] <= LATENCY_TARGETS_MS[key]
                    row["note"] = "median %.1f ms" % ours[key]["median"]
                except (KeyError, TypeError) as e:
                    row["error"] = "ours: no %s in its JSON (%s)" % (key, e)
            rows.append(row)
        return rows, raw

    dmlp, dmlp_err = run_json(dmlp_cmd, a.timeout, "dmlp")
    raw.update({"dmlp": dmlp, "dmlp_error": dmlp_err, "dmlp_command": dmlp_cmd})
    metric = "s per run" if job == "sample" else "sentences/s"
    target = TARGETS[job][a.device]
    row = {"job": job, "metric": metric, "ours": None, "dmlp": None, "ratio": None,
           "target": ">= %gx" % target, "met": None, "error": None, "note": ""}
    errors = [("ours: " + ours_err) if ours_err else "", ("DMLP: " + dmlp_err) if dmlp_err else ""]
    key = "seconds" if job == "sample" else "sentences_per_sec"
    try:
        row["ours"] = median(ours, key) if ours else None
        row["dmlp"] = median(dmlp, key) if dmlp else None
    except (KeyError, TypeError) as e:
        errors.append("no %s median in the JSON (%s)" % (key, e))
    if row["ours"] and row["dmlp"]:
        # Faster is better: rates compare ours/DMLP, times DMLP/ours.
        row["ratio"] = row["dmlp"] / row["ours"] if job == "sample" else row["ours"] / row["dmlp"]
        row["met"] = row["ratio"] >= target
    if ours and dmlp:
        shape_keys = {"train": ["batch", "length"], "reconstruct": ["n", "length", "max_tokens", "batch"],
                      "sample": ["n", "steps", "latent", "layers", "hidden"]}[job]
        diff = check_same(ours, dmlp, shape_keys + ["threads", "device"])
        if diff:
            row["note"] = "differs: " + "; ".join(diff)
    row["error"] = "; ".join(e for e in errors if e) or None
    rows = [row]

    if job == "reconstruct" and a.also_uncached:
        unc, unc_err = run_json(ours_cmd[:-1] + ["--uncached", "--json"], a.timeout, "ours")
        raw.update({"ours_uncached": unc, "ours_uncached_error": unc_err})
        r2 = {"job": "reconstruct (ours uncached)", "metric": metric, "ours": None, "dmlp": row["dmlp"],
              "ratio": None, "target": "", "met": None, "error": ("ours: " + unc_err) if unc_err else None,
              "note": "same loop without the KV cache"}
        if unc:
            r2["ours"] = median(unc, key)
            if r2["dmlp"]:
                r2["ratio"] = r2["ours"] / r2["dmlp"]
        rows.append(r2)
    return rows, raw


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return "%.0f" % x
    return "%.3g" % x


def table(rows):
    lines = ["| job | metric | ours | DMLP | ours vs DMLP | target | met? |",
             "| --- | --- | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        ratio = ("%.2fx" % r["ratio"]) if r["ratio"] is not None else "-"
        met = "error: " + r["error"] if r["error"] else {True: "yes", False: "no", None: "-"}[r["met"]]
        job = r["job"] + (" (%s)" % r["note"] if r["note"] else "")
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (job, r["metric"], fmt(r["ours"]), fmt(r["dmlp"]),
                                                              ratio, r["target"] or "-", met.replace("|", "/")))
    return "\n".join(lines)


def cpu_machine():
    name = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d cores" % (name, os.cpu_count() or 0)


def gpu_machine(raw):
    for res in raw.values():
        for side in ("dmlp", "ours"):
            d = (res or {}).get(side) or {}
            if d.get("device_name"):
                return d["device_name"]
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=30).stdout.strip().splitlines()
        return out[0] if out else "unknown GPU"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown GPU"


def versions(raw):
    """torch on each side, DMLP and transformers, threads on each side."""
    v = {}
    for res in raw.values():
        for side in ("ours", "dmlp"):
            d = (res or {}).get(side) or {}
            for k in ("torch", "threads", "dmlp", "transformers"):
                if k in d:
                    v.setdefault("%s_%s" % (side, k), d[k])
    return v


def doc_block(key, report):
    v = report["versions"]
    lines = ["<!-- run:%s -->" % key,
             "### %s, preset %s" % (report["device"].upper() if report["device"] == "cuda" else "CPU", report["preset"]),
             "",
             "- Machine: %s" % report["machine"],
             "- Command: `%s`" % report["command"],
             "- Date: %s" % report["date"],
             "- torch: ours %s, DMLP venv %s; DMLP %s with transformers %s; threads: ours %s, DMLP %s" % (
                 v.get("ours_torch", "?"), v.get("dmlp_torch", "?"), v.get("dmlp_dmlp", "?"),
                 v.get("dmlp_transformers", "?"), v.get("ours_threads", "?"), v.get("dmlp_threads", "?")),
             "- Raw results: `%s`" % report["results_file"],
             "",
             report["table"],
             "<!-- /run:%s -->" % key]
    return "\n".join(lines)


DOC_INTRO = """# Performance

Latent Studio (C++/LibTorch) against DMLP, the Python library it reimplements, on the same
shapes, random weights, the same device and the same torch version. The tables below are
written by `bench/compare.py` (one per device and preset; see `bench/README.md` for what each
job measures and how the two sides are made comparable). Ratios are ours relative to DMLP:
above 1 means the studio is faster.

"""


def update_doc(path, key, block):
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    text = open(path).read() if os.path.exists(path) else DOC_INTRO + begin + "\n" + end + "\n"
    if begin not in text or end not in text:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + begin + "\n" + end + "\n"
    head, rest = text.split(begin, 1)
    section, tail = rest.split(end, 1)
    pattern = re.compile(r"<!-- run:%s -->.*?<!-- /run:%s -->" % (re.escape(key), re.escape(key)), re.S)
    if pattern.search(section):
        section = pattern.sub(lambda _: block, section)
    else:
        section = section.rstrip("\n") + "\n\n" + block + "\n"
    section = "\n" + section.strip("\n") + "\n"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(head + begin + section + end + tail)


def main(argv):
    a = parse_args(argv)
    now = datetime.datetime.now(datetime.timezone.utc)
    rows, raw = [], {}
    for job in a.jobs:
        job_rows, job_raw = compare_job(a, job)
        rows += job_rows
        raw[job] = job_raw
    machine = gpu_machine(raw) if a.device == "cuda" else cpu_machine()
    suffix = "-quick" if a.quick else ""
    results_file = os.path.join(a.results_dir, "%s-%s-%s%s.json" % (now.strftime("%Y-%m-%d-%H%M"), a.device, a.preset, suffix))
    report = {"date": now.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine, "device": a.device, "preset": a.preset,
              "quick": a.quick, "command": "python3 bench/compare.py " + " ".join(shlex.quote(x) for x in argv),
              "versions": versions(raw), "results_file": shown(results_file), "rows": rows}
    report["table"] = table(rows)
    print("\n%s, preset %s, %s\n\n%s" % (machine, a.preset, report["date"], report["table"]))
    os.makedirs(a.results_dir, exist_ok=True)
    with open(results_file, "w") as f:
        json.dump(dict(report, raw=raw), f, indent=2)
        f.write("\n")
    print("\nresults: %s" % shown(results_file))
    if not (a.quick or a.no_doc):
        update_doc(a.doc, "%s-%s" % (a.device, a.preset), doc_block("%s-%s" % (a.device, a.preset), report))
        print("table: %s" % shown(a.doc))
    return 1 if any(r["error"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
