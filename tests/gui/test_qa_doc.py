"""docs/qa.md's example is the test file that runs in the suite, word for word."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_guide_shows_the_example_test_as_it_is():
    guide = (ROOT / "docs" / "qa.md").read_text(encoding="utf-8")
    block = guide.split("```python\n", 1)[1].split("```", 1)[0]
    assert block == (ROOT / "tests" / "gui" / "test_qa_example.py").read_text(encoding="utf-8")
