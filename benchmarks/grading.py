"""The class batch that BENCHMARKS.md times: 30 submissions as a teacher gets them, written into a folder.

    python benchmarks/grading.py DIR          # writes DIR/ (30 files), then time:
    farm-bench -n 3 --timeout 900 -- .venv/bin/sslcourse grade DIR --out /tmp/gradebook.csv --timeout 10 --jobs 2

For each of exercises 00-05: the solution, the generated exercise (a stub), the solution with its last graded
function stubbed; 7 red-team submissions; an endless loop, a memory hog, and 3 broken files (as the fixture
`class_batch` of tests/grading/test_grader.py).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
LAST = {"00": "leave_one_out_accuracy", "01": "structure_mse", "02": "orientation_log_probs",
        "03": "tile_position_probs", "04": "alignment_uniformity", "05": "optimal_value"}
ATTACKS = ("00_import_reference.py", "04_tensor_subclass.py", "05_patch_grader_at_definition.py",
           "01_constant_masks.py", "00_forge_report_exit.py", "04_write_to_grader_pipes.py",
           "02_detect_grading_mode.py")
CORRECT_D = ("import torch.nn.functional as F\n\n"
             "def discriminator_loss(real_logits, fake_logits):\n"
             "    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()\n\n")


def stub_function(source: str, name: str) -> str:
    start = source.index(BEGIN, source.index(f"def {name}("))
    end = source.index(END, start) + len(END)
    return source[:start] + 'raise NotImplementedError("replace this line with your solution")' + source[end:]


def write_batch(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for sol in sorted((ROOT / "solutions").glob("0[0-5]_*.py")):
        ex = sol.name[:2]
        (folder / f"{ex}_alice.ipynb").write_bytes(sol.with_suffix(".ipynb").read_bytes())
        (folder / f"{ex}_bob.ipynb").write_bytes((ROOT / "exercises" / sol.with_suffix(".ipynb").name).read_bytes())
        (folder / f"{ex}_carol.py").write_text(stub_function(sol.read_text(), LAST[ex]))
    for name in ATTACKS:
        (folder / f"{name[:2]}_dave_{name[3:]}").write_text((ROOT / "tests/grading/attacks" / name).read_text())
    (folder / "05_erin_loop.py").write_text(CORRECT_D + "def generator_loss(fake_logits, non_saturating=True):\n"
                                            "    while True:\n        pass\n")
    (folder / "05_frank_hog.py").write_text(CORRECT_D + "import torch\n\ndef generator_loss(fake_logits, "
                                            "non_saturating=True):\n    return torch.ones(2**33).sum() * 0\n")
    (folder / "02_grace_empty.ipynb").write_text("{}")
    (folder / "03_heidi_latin1.py").write_bytes("# ½\n".encode("latin-1"))
    (folder / "04_ivan_syntax.py").write_text("def nt_xent_loss(z1, z2, temperature=0.5)\n    return 0\n")
    return len(list(folder.iterdir()))


if __name__ == "__main__":
    print(write_batch(Path(sys.argv[1])), "submissions in", sys.argv[1])
