"""The adaptation figure for the README: bits per character on the domain test and on the default
test split, per model, from the JSON reports of benchmarks/adapt.py.

    python benchmarks/adapt_plot.py metrics/adapt.json metrics/adapt_replay.json --output docs/adapt.png
"""
import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", type=Path, nargs="+")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = {}
    for path in args.reports:
        for name, figures in json.loads(path.read_text()).items():
            if isinstance(figures, dict) and "domain_test" in figures:
                rows[name] = figures
    names = list(rows)
    x = range(len(names))
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.bar([i - 0.2 for i in x], [rows[n]["domain_test"]["bits_per_char"] for n in names], 0.4, label="dialogue test")
    ax.bar([i + 0.2 for i in x], [rows[n]["base_test"]["bits_per_char"] for n in names], 0.4, label="default test split")
    ax.set_xticks(list(x), [n.replace("_", " ") for n in names], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("bits per character (lower is better)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)


if __name__ == "__main__":
    main()
