"""lrcourse.exercises.check: each way a reader's function can be wrong gets its own plain report."""

from __future__ import annotations

import numpy as np
import pytest

from lrcourse.exercises import CheckResult, check, random_cases


def gd_step(theta, grad, lr):
    return theta - lr * grad


CASES = random_cases(lambda rng: (rng.normal(size=4), rng.normal(size=4), float(rng.uniform(0.01, 1.0))), n=10)


def test_a_right_answer_passes_on_every_case():
    result = check(lambda t, g, a: t - a * g, gd_step, CASES, name="step")
    assert result.passed and bool(result)
    assert result.message == "✓ step agrees with the reference on all 10 random cases."


def test_wrong_values_are_reported_with_the_inputs_and_the_largest_difference():
    result = check(lambda t, g, a: t + a * g, gd_step, CASES, name="step")
    assert not result.passed and not bool(result)
    assert "case 1 of 10" in result.message
    assert "With inputs array([" in result.message
    assert "the largest difference is" in result.message and "at index (" in result.message


def test_returning_none_asks_about_the_return_statement():
    def forgot(theta, grad, lr):
        theta - lr * grad

    assert "forget the `return` statement" in check(forgot, gd_step, CASES).message


def test_a_wrong_shape_is_named():
    result = check(lambda t, g, a: (t - a * g).sum(), gd_step, CASES)
    assert "returned shape ()" in result.message and "shape (4,)" in result.message


def test_an_exception_is_reported_not_raised():
    def broken(theta, grad, lr):
        raise ZeroDivisionError("oops")

    result = check(broken, gd_step, CASES, hint="subtract lr times the gradient")
    assert result.message.startswith("✗ your function raised ZeroDivisionError: oops")
    assert result.message.endswith("Hint: subtract lr times the gradient")


def test_changing_the_inputs_in_place_is_caught_even_with_the_right_answer():
    def in_place(theta, grad, lr):
        theta -= lr * grad
        return theta

    result = check(in_place, gd_step, CASES)
    assert not result.passed and "changed its inputs in place" in result.message


def test_tuple_outputs_and_keyword_cases():
    def reference(x, scale):
        return x * scale, float(np.sum(x))

    cases = [{"x": np.arange(3.0), "scale": 2.0}, {"x": np.ones(2), "scale": -1.0}]
    assert check(lambda x, scale: (x * scale, x.sum()), reference, cases).passed
    wrong = check(lambda x, scale: (x * scale, x.mean()), reference, cases)
    assert "its output number 2" in wrong.message and "x=array(" in wrong.message
    assert "should return 2 values" in check(lambda x, scale: x * scale, reference, cases).message


def test_tolerances_apply():
    nudged = lambda t, g, a: t - a * g + 1e-7  # noqa: E731
    assert not check(nudged, gd_step, CASES).passed
    assert check(nudged, gd_step, CASES, atol=1e-6).passed


def test_not_a_function_and_no_cases():
    assert check(42, gd_step, CASES).message == "✗ your function is not a function: got int."
    with pytest.raises(ValueError, match="cases"):
        check(gd_step, gd_step, [])
    with pytest.raises(ValueError, match="n"):
        random_cases(lambda rng: (), n=0)


def test_random_cases_are_reproducible():
    make = lambda rng: (rng.normal(size=2),)  # noqa: E731
    first, second = random_cases(make, n=3, seed=7), random_cases(make, n=3, seed=7)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, second))


def test_the_notebook_display_carries_the_message():
    result = CheckResult(False, "✗ wrong\n  details")
    assert "✗ wrong  \n  details" in result._repr_markdown_() and "#D55E00" in result._repr_markdown_()


# ------------------------------------------------- a starter that is not attempted yet


def starter(theta, grad, lr):
    raise NotImplementedError("write your code here")


def test_a_starter_is_not_attempted_neither_passed_nor_failed():
    # a missing solution is reported rather than raised, and in neutral words
    result = check(starter, gd_step, CASES, name="step", hint="subtract lr times the gradient")
    assert result.status == "not attempted" and not result.attempted
    assert not result.passed and not bool(result)
    assert result.message.startswith("○ step: not attempted yet.")
    # no cross, no exception name as an error, no array dump and no hint for code not yet written
    assert "✗" not in result.message and "array(" not in result.message and "Hint" not in result.message
    assert str(result) == result.message


def test_not_attempted_is_displayed_in_a_neutral_colour():
    shown = check(starter, gd_step, CASES)._repr_markdown_()
    assert "#666666" in shown and "#D55E00" not in shown and "green" not in shown
    assert check(gd_step, gd_step, CASES).status == "passed"
    assert check(lambda t, g, a: t + a * g, gd_step, CASES).status == "failed"


def test_a_placeholder_of_the_readers_own_wording_is_not_attempted_and_its_words_are_kept():
    def placeholder(theta, grad, lr):
        raise NotImplementedError("TODO: the momentum term")

    result = check(placeholder, gd_step, CASES)
    assert result.status == "not attempted" and "(It raised NotImplementedError: TODO: the momentum term.)" in result.message


def test_not_implemented_on_a_later_case_is_a_failure():
    # the function was written and works on some inputs: an unfinished branch is reported with its inputs
    def partial(theta, grad, lr):
        if lr > 0.5:
            raise NotImplementedError("large rates")
        return theta - lr * grad

    cases = [(np.ones(2), np.ones(2), 0.1), (np.ones(2), np.ones(2), 0.9)]
    result = check(partial, gd_step, cases)
    assert result.status == "failed"
    assert result.message.startswith("✗ your function raised NotImplementedError: large rates")
    assert "on case 2 of 2" in result.message


def test_not_implemented_from_inside_the_package_is_a_failure():
    # an abstract method of lrcourse reached by the reader's code is a bug in the attempt, not a starter
    from lrcourse.schedules._base import Schedule

    class Unfinished(Schedule):
        pass

    def uses_the_base_class(theta, grad, lr):
        return theta - Unfinished()(0) * grad

    result = check(uses_the_base_class, gd_step, CASES)
    assert result.status == "failed" and "raised NotImplementedError" in result.message


def test_a_result_that_passed_was_attempted():
    with pytest.raises(ValueError, match="not attempted"):
        CheckResult(True, "✓", attempted=False)
    assert CheckResult(False, "✗ wrong").status == "failed"
