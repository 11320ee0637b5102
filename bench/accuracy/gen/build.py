"""Write ../cases/*.yaml and ../SOURCES.md from the case modules.

Usage: python3 build.py
"""
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import cases_t0, cases_t1, cases_t2, cases_t3, cases_pass, cases_special  # noqa: E402,F401

import yaml  # noqa: E402

VALID_CATS = {"time_limit", "host_oom", "node_failure", "preempted", "cancelled",
              "dependency_never_satisfied", "gpu_oom", "nccl", "cuda_error", "server_startup",
              "kv_cache", "unsupported_model", "trust_remote_code", "model_files", "tokenizer",
              "missing_input", "missing_script", "python_env", "disk_full", "permission",
              "container", "empty_output", "training_divergence", "low_acceptance",
              "python_exception", "unknown"}


def main():
    os.makedirs(common.CASES_DIR, exist_ok=True)
    for f in os.listdir(common.CASES_DIR):
        if f.endswith(".yaml"):
            os.remove(os.path.join(common.CASES_DIR, f))
    names = set()
    per_source = collections.Counter()
    rows = []
    for c in common.CASES:
        assert c["name"] not in names, c["name"]
        names.add(c["name"])
        per_source[c["source"]] += 1
        e = c["expect"]
        assert e["run"] in ("fail", "pass", "incomplete")
        if e["run"] == "fail":
            assert e.get("category") in VALID_CATS, c["name"]
        text = common.to_yaml(c)
        path = os.path.join(common.CASES_DIR, c["name"] + ".yaml")
        with open(path, "w") as fh:
            fh.write(text)
        data = yaml.safe_load(open(path))
        # structural checks
        assert set(data) <= {"source", "why", "expect", "tasks", "lone_file"}, data.keys()
        if data.get("tasks"):
            idx = [t["index"] for t in data["tasks"]]
            assert idx == sorted(idx) and len(set(idx)) == len(idx), c["name"]
            for t in data["tasks"]:
                assert t["state"] in ("ran", "skipped", "not_run", "no_logs"), c["name"]
                if t["state"] == "ran":
                    assert t.get("log") or t.get("sbatch_tail"), (c["name"], t["index"])
            if e["run"] == "pass":
                for t in data["tasks"]:
                    assert t["state"] in ("ran", "skipped", "no_logs"), c["name"]
                    if t["state"] == "ran":
                        assert t["exit_code"] == 0 and t["artifacts"], (c["name"], t["index"])
            if e["run"] == "fail":
                ft = [t for t in data["tasks"] if t["index"] == e["task"]]
                assert ft and ft[0]["state"] == "ran", c["name"]
        rows.append(c)
    bad = {s: n for s, n in per_source.items() if n > 2}
    assert not bad, bad
    write_sources(rows)
    print("wrote %d cases" % len(rows))


def write_sources(rows):
    out = ["# Sources of the accuracy cases", "",
           "One line per case: file | expected verdict | difficulty family | source | why.", "",
           "| file | expected | family | source | why |", "|---|---|---|---|---|"]
    for c in sorted(rows, key=lambda c: c["name"]):
        e = c["expect"]
        if e["run"] == "fail":
            exp = "fail / task_%d / %s" % (e["task"], e["category"])
        else:
            exp = e["run"]
        why = c["why"].replace("|", "\\|")
        out.append("| cases/%s.yaml | %s | %s | %s | %s |" % (c["name"], exp, c["family"], c["source"], why))
    with open(os.path.join(common.CASES_DIR, "..", "SOURCES.md"), "w") as fh:
        fh.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
