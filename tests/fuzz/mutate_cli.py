#!/usr/bin/env python3
"""Black-box robustness run of the real latent-cli on mutated JSON files: the parsers that
need LibTorch (our config.json through load_model, Hugging Face config.json through
import-hf, DMLP's dmlp.json through import-dmlp), which the libFuzzer targets do not reach.

    python3 tests/fuzz/mutate_cli.py build/bin/latent-cli [N] [SEED]

Each case copies a folder, changes one value of one JSON file (a type swapped, a key
removed, a number made huge, negative, zero or fractional, a string emptied or made long),
runs the command and classifies the result:
  ok     exit 0;
  clean  exit 1 with one "error: ..." line that names a file or key and holds no bare
         library text (std::, json.exception, bad_alloc, c10::, "Exception raised from");
  FAIL   anything else: a signal, a timeout, a bare text.
Prints the counts and every failure (SHOW=1: every clean error too); exits 1 when there is one.
"""
import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BARE = ("std::", "json.exception", "bad_alloc", "c10::", "Exception raised from", "terminate called")


def paths(obj, prefix=()):
    """Every (path) to a value in a JSON document."""
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:4]):
            out += paths(v, prefix + (i,))
    return out


def mutate(doc, rng):
    doc = copy.deepcopy(doc)
    path = rng.choice(paths(doc))
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    key = path[-1]
    old = parent[key]
    choices = ["delete", "string", "list", "object", "null", "huge", "negative", "zero", "fraction", "bool",
               "empty_string", "long_string", "big_list"]
    how = rng.choice(choices)
    if how == "delete" and isinstance(parent, dict):
        del parent[key]
    elif how == "string":
        parent[key] = "x" if not isinstance(old, str) else old + "?"
    elif how == "list":
        parent[key] = [old]
    elif how == "object":
        parent[key] = {"v": old}
    elif how == "null":
        parent[key] = None
    elif how == "huge":
        parent[key] = rng.choice([2**31, 2**40, 1799999999999, 10**30, 1e308])
    elif how == "negative":
        parent[key] = -abs(old) if isinstance(old, (int, float)) and old else -1
    elif how == "zero":
        parent[key] = 0
    elif how == "fraction":
        parent[key] = 0.5
    elif how == "bool":
        parent[key] = True
    elif how == "empty_string":
        parent[key] = ""
    elif how == "long_string":
        parent[key] = "w" * 100000
    elif how == "big_list":
        parent[key] = list(range(1000))
    else:
        parent[key] = None
    return doc, "/".join(map(str, path)) + " <- " + how


def run(cmd, timeout=120):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "FAIL", "timeout"
    err = p.stderr.strip()
    if p.returncode == 0:
        return "ok", ""
    lines = [l for l in err.splitlines() if l.strip()]
    if p.returncode == 1 and lines and lines[-1].startswith("error: ") and not any(b in err for b in BARE):
        return "clean", lines[-1]
    return "FAIL", "exit %d: %s" % (p.returncode, err[-400:])


def main():
    cli = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    fx = os.path.join(ROOT, "tests", "fixtures")
    default = os.path.join(ROOT, "resources", "models", "default")
    dmlp = os.path.join(fx, "dmlp", "trained")
    scenarios = [
        # (folder to copy, JSON file in it to mutate, command given the copy)
        (default, "config.json", lambda d: [cli, "reconstruct", "--model", d, "a small test"]),
        (default, "config.json", lambda d: [cli, "info", "--model", d]),
        (os.path.join(dmlp, "bert"), "config.json",
         lambda d: [cli, "import-hf", "--encoder", d, "--decoder", os.path.join(dmlp, "gpt2"),
                    "--preset", "tiny", "--out", d + "-out"]),
        (os.path.join(dmlp, "gpt2"), "config.json",
         lambda d: [cli, "import-hf", "--encoder", os.path.join(dmlp, "bert"), "--decoder", d,
                    "--preset", "tiny", "--out", d + "-out"]),
        (os.path.join(dmlp, "export"), "dmlp.json",
         lambda d: [cli, "import-dmlp", "--checkpoint", d, "--encoder", os.path.join(dmlp, "bert"),
                    "--decoder", os.path.join(dmlp, "gpt2"), "--out", d + "-out"]),
    ]
    counts = {"ok": 0, "clean": 0, "FAIL": 0}
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            src, name, cmd = scenarios[i % len(scenarios)]
            d = os.path.join(tmp, "case%d" % i)
            shutil.copytree(src, d)
            with open(os.path.join(d, name)) as f:
                doc = json.load(f)
            doc, what = mutate(doc, rng)
            with open(os.path.join(d, name), "w") as f:
                json.dump(doc, f)
            verdict, detail = run(cmd(d))
            counts[verdict] += 1
            if os.environ.get("SHOW") and verdict == "clean":
                print("clean  %s %s (%s): %s" % (os.path.basename(src), name, what, detail[:220]))
            if verdict == "FAIL":
                failures.append("%s %s (%s): %s" % (os.path.basename(src), name, what, detail))
            shutil.rmtree(d, ignore_errors=True)
            shutil.rmtree(d + "-out", ignore_errors=True)
    print("%d runs: %d ok, %d clean errors, %d failures" % (n, counts["ok"], counts["clean"], counts["FAIL"]))
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
