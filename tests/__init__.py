import pytest

# support.py holds shared assertions: rewritten like the test modules' own, they report values on failure.
pytest.register_assert_rewrite("tests.support")
