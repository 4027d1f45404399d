"""The order `make test`'s workers take the test files in (conftest.py): longest first, by measured seconds."""
import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
order = importlib.util.module_from_spec(spec)
spec.loader.exec_module(order)


def items(*nodeids):
    return [SimpleNamespace(nodeid=n) for n in nodeids]


def test_files_go_longest_first_and_each_keeps_its_tests_in_order():
    collected = items("tests/test_a.py::test_1", "tests/test_a.py::test_2", "notebooks/08.ipynb::Cell 0",
                      "notebooks/08.ipynb::Cell 1", "tests/test_b.py::TestX::test_1", "tests/test_b.py::test_2",
                      "notebooks/08.ipynb::Cell 2")
    seconds = {"notebooks/08.ipynb": 480.0, "tests/test_b.py": 100.0, "tests/test_a.py": 3.0}
    assert [i.nodeid for i in order.longest_first(collected, seconds)] == [
        "notebooks/08.ipynb::Cell 0", "notebooks/08.ipynb::Cell 1", "notebooks/08.ipynb::Cell 2",
        "tests/test_b.py::TestX::test_1", "tests/test_b.py::test_2", "tests/test_a.py::test_1", "tests/test_a.py::test_2"]


def test_a_file_not_measured_counts_a_second_per_test_and_ties_keep_the_collection_order():
    collected = items("tests/new.py::test_1", "tests/new.py::test_2", "tests/new.py::test_3", "tests/old.py::test_1",
                      "tests/tie.py::test_1", "tests/tie2.py::test_1")
    seconds = {"tests/old.py": 2.5, "tests/tie.py": 1.0, "tests/tie2.py": 1.0}
    assert [order.scope_of(i.nodeid) for i in order.longest_first(collected, seconds)] == [
        "tests/new.py", "tests/new.py", "tests/new.py", "tests/old.py", "tests/tie.py", "tests/tie2.py"]


def test_a_missing_or_broken_record_orders_by_test_count(tmp_path):
    assert order.recorded_seconds(tmp_path / "missing.json") == {}
    (tmp_path / "broken.json").write_text("[1, 2")
    assert order.recorded_seconds(tmp_path / "broken.json") == {}


def test_the_record_names_only_files_that_exist_and_times_the_longest_ones():
    """A renamed or deleted file left in tests/scope-seconds.json means the record is stale: refresh it from
    `make test`'s build/test-reports/1-scope-seconds.json (BENCHMARKS.md)."""
    recorded = json.loads(order.RECORDED.read_text())
    assert recorded, "tests/scope-seconds.json is empty"
    missing = [path for path in recorded if not (ROOT / path).exists()]
    assert not missing, f"tests/scope-seconds.json names files that no longer exist: {missing}"
    assert "notebooks/08_compare_and_apply.ipynb" in recorded and all(v >= 0 for v in recorded.values())


def test_scope_seconds_writes_each_files_seconds_longest_first(tmp_path, monkeypatch):
    monkeypatch.setattr(order, "_seconds", order.defaultdict(float))
    for nodeid, duration in [("tests/test_a.py::test_1", 1.0), ("tests/test_a.py::test_1", 0.5),
                             ("notebooks/08.ipynb::Cell 0", 4.0), ("tests/test_a.py::test_2", 2.0)]:
        order.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid, duration=duration))
    lines = []
    options = {"--scope-seconds": str(tmp_path / "out" / "seconds.json")}
    config = SimpleNamespace(getoption=lambda name, default=None: options.get(name, default))
    order.pytest_terminal_summary(SimpleNamespace(config=config, section=lines.append, write_line=lines.append))
    written = (tmp_path / "out" / "seconds.json").read_text()
    assert list(json.loads(written).items()) == [("notebooks/08.ipynb", 4.0), ("tests/test_a.py", 3.5)]
    assert any("notebooks/08.ipynb" in line for line in lines), "the notebooks' durations are shown as before"
