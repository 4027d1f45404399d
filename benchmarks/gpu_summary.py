"""The summary of benchmarks/gpu_check.sh: seconds and accuracy per method, seconds per notebook.

    python benchmarks/gpu_summary.py OUT_DIR      # reads train-all.json, nbval.xml, fp16.xml where present
"""
import json
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path


def notebook_seconds(junit: Path) -> dict:
    """{notebook: (seconds, failed cells)} from pytest's JUnit XML (one test case per notebook cell under nbval)."""
    seconds, failed = defaultdict(float), defaultdict(int)
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("classname", "").replace(".", "/")
        notebook = name.split("/ipynb")[0] + ".ipynb" if "ipynb" in name else name
        seconds[notebook] += float(case.get("time", 0))
        failed[notebook] += any(child.tag in ("failure", "error") for child in case)
    return {nb: (seconds[nb], failed[nb]) for nb in sorted(seconds)}


def main(out: Path) -> None:
    train = out / "train-all.json"
    if train.exists():
        print(f"{'method':<12}{'train s':>9}{'kNN':>8}{'linear':>9}   (sslcourse train all, gpu profile)")
        for name, r in json.loads(train.read_text()).items():
            print(f"{name:<12}{r.get('seconds', 0):9.1f}{100 * r['knn_accuracy']:7.1f}%{100 * r['linear_probe_accuracy']:8.1f}%")
        first = next(iter(json.loads(train.read_text()).values()))
        print(f"{'random init':<12}{'':>9}{100 * first['random_init_knn_accuracy']:7.1f}%"
              f"{100 * first['random_init_linear_probe_accuracy']:8.1f}%")
    for junit in ("nbval.xml", "fp16.xml"):
        if (out / junit).exists():
            rows = notebook_seconds(out / junit)
            print(f"\n{junit}: {sum(s for s, _ in rows.values()):.0f} s in all")
            for nb, (s, bad) in rows.items():
                print(f"  {s:7.1f} s  {nb}" + (f"   {bad} FAILED cell(s)" if bad else ""))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
