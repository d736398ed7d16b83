"""The character-level testbed: the corpus, its windows and splits, and CharMLP under fit, sweep_model and the range test.

The text depends on the Python version, so nothing here hashes it or fixes its
characters: the tests check its properties (alphabet, determinism, consistency of
windows and targets with the text, disjoint splits) and compare computations with
each other.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lrcourse.numpy as lnp
from lrcourse.torch import evaluate, fit, lr_range_test, sweep_model
from lrcourse.torch.data import ALPHABET, TextDataset, char_sequences, characters, normalise, stdlib_text
from lrcourse.torch.data.text import BLOCK, OTHER
from lrcourse.torch.models import CharMLP


@pytest.fixture(scope="module")
def data() -> TextDataset:
    return characters(8, n_train=3000, n_val=1000, n_test=1000, seed=3)


def test_the_corpus_is_long_lowercase_prose_in_the_alphabet() -> None:
    text = stdlib_text()
    assert 200_000 <= len(text) <= 300_000 and set(text) <= set(ALPHABET)
    assert "  " not in text and text == normalise(text)  # normalised: a fixed point
    frequencies = {c: text.count(c) / len(text) for c in " e~"}
    assert frequencies[" "] > 0.1 and frequencies["e"] > 0.05 and frequencies[OTHER] < 0.1
    assert stdlib_text(1000) == text[:1000]


def test_normalise_maps_rare_characters_to_one_symbol() -> None:
    assert normalise("A\tb\n\n C#9ß") == f"a b c{OTHER}{OTHER}{OTHER}"
    assert len(ALPHABET) == len(set(ALPHABET)) == 38 and ALPHABET[-1] == OTHER


def test_windows_and_targets_are_the_text_at_their_starts(data: TextDataset) -> None:
    text = stdlib_text()
    for split in ("train", "val", "test"):
        X, y = data.split(split)
        starts = data.starts[split]
        assert X.dtype == y.dtype == np.int64 and X.shape == (len(starts), 8) and y.shape == (len(starts),)
        for i in range(0, len(starts), 97):
            s = int(starts[i])
            assert data.decode(X[i]) == text[s:s + 8] and data.decode([y[i]]) == text[s + 8]
        assert np.array_equal(X[:, 1:], np.array([data.encode(text[s + 1:s + 8]) for s in starts]))


def test_splits_come_from_disjoint_stretches(data: TextDataset) -> None:
    covered = {}
    for split in ("train", "val", "test"):
        starts = data.starts[split]
        assert len(np.unique(starts)) == len(starts)  # drawn without replacement
        covered[split] = set((starts[:, None] + np.arange(9)).ravel().tolist())  # window and target
        blocks = np.unique(np.concatenate([starts // BLOCK, (starts + 8) // BLOCK]) % 10)
        assert set(blocks.tolist()) <= {"train": set(range(8)), "val": {8}, "test": {9}}[split]
    assert not covered["train"] & covered["val"] and not covered["train"] & covered["test"]
    assert not covered["val"] & covered["test"]


def test_the_alphabet_decodes_what_it_encodes(data: TextDataset) -> None:
    sentence = "Return the SUM of x and y, (say) 'x + y'."
    assert data.decode(data.encode(sentence)) == normalise(sentence)
    assert data.decode(np.arange(len(ALPHABET))) == ALPHABET and data.decode([]) == ""
    assert data.n_classes == len(ALPHABET) and data.context == data.n_features == 8 and data.classes[-1] == 37
    with pytest.raises(ValueError, match="indices"):
        data.decode([0, 38])
    with pytest.raises(TypeError, match="indices"):
        data.decode([0.5])


def test_the_same_seed_gives_the_same_dataset_another_seed_another() -> None:
    a, b, c = (characters(5, n_train=500, n_val=100, n_test=100, seed=s) for s in (1, 1, 2))
    for split in ("train", "val", "test"):
        assert np.array_equal(a.split(split).X, b.split(split).X) and np.array_equal(a.split(split).y,
                                                                                    b.split(split).y)
    assert not np.array_equal(a.train.X, c.train.X)


def test_asking_for_more_windows_than_the_text_holds_names_the_limit() -> None:
    with pytest.raises(ValueError, match=r"n_val must be at most \d+"):
        characters(8, n_train=10, n_val=10**6, n_test=10)
    with pytest.raises(ValueError, match="context"):
        characters(0)


def test_charmlp_refuses_float_or_misshaped_windows() -> None:
    model = CharMLP(38, context=4)
    with pytest.raises(TypeError, match="integer character indices"):
        model(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        model(torch.zeros(2, 5, dtype=torch.int64))


def test_charmlp_is_bengios_model_written_out() -> None:
    model = CharMLP(38, context=3, embedding_dim=4, hidden=(6,), seed=1).double()
    x = torch.tensor([[1, 2, 3], [0, 37, 5]])
    E, (W1, b1), (W2, b2) = model.embedding.weight, (model.layers[0].weight, model.layers[0].bias), (
        model.layers[2].weight, model.layers[2].bias)
    expected = torch.tanh(E[x].reshape(2, 12) @ W1.T + b1) @ W2.T + b2
    torch.testing.assert_close(model(x), expected)
    same = CharMLP(38, context=3, embedding_dim=4, hidden=(6,), seed=1)
    assert all(torch.equal(p.double(), q) for p, q in zip(same.parameters(), model.parameters()))


@pytest.mark.parametrize("cls, options, make", [
    (lnp.SGD, {"momentum": 0.9}, lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9)),
    (lnp.Adam, {}, lambda params, lr: torch.optim.Adam(params, lr=lr)),
], ids=["SGD-momentum", "Adam"])
def test_a_sweep_of_k_runs_equals_k_separate_fits(data: TextDataset, cls, options, make) -> None:
    model = CharMLP(data.n_classes, data.context, hidden=(16,)).double()
    loader = data.loader("train", batch_size=50, device="cpu")
    lrs = [0.003, 0.03, 0.3]
    result = sweep_model(model, cls, lr=lrs, steps=30, data=loader, seed=2, device="cpu", **options)
    X_val, y_val = data.tensors("val", "cpu")
    for k, lr in enumerate(lrs):
        m = copy.deepcopy(model)
        history = fit(m, make(m.parameters(), lr), loader, steps=30, seed=2, progress=False, device="cpu")
        np.testing.assert_allclose(result.losses[k, :30], history.loss, rtol=1e-9)
        for name, p in m.named_parameters():  # Adam divides by sqrt(v): rare characters' rows carry rounding
            np.testing.assert_allclose(result.params[name][k], p.detach().numpy(), rtol=1e-6, atol=1e-7)
        assert abs(evaluate(m, (X_val, y_val))["loss"] - F.cross_entropy(m(X_val), y_val).item()) < 1e-12
    assert result.losses[1, -1] < result.losses[1, 0] - 0.3  # the middle rate learned something


def test_a_short_fit_lowers_the_loss_well_below_the_uniform_guess() -> None:
    data = characters(8, n_train=10_000, n_val=2000, n_test=10, seed=0)
    model = CharMLP(data.n_classes, data.context)
    fit(model, torch.optim.Adam(model.parameters(), lr=3e-3), data.loader("train", 64, device="cpu"), steps=600,
        seed=0, progress=False, device="cpu")
    scores = evaluate(model, data.tensors("val", "cpu"))
    # Uniform guessing costs log 38 = 3.64 nats; the unigram frequencies alone about 2.9.
    assert scores["loss"] < np.log(data.n_classes) - 0.9 and scores["accuracy"] > 0.25


def test_the_range_test_runs_on_charmlp_and_puts_the_weights_back(data: TextDataset) -> None:
    model = CharMLP(data.n_classes, data.context)
    before = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    result = lr_range_test(model, optimizer, F.cross_entropy, data.loader("train", 64, device="cpu"),
                           start_lr=1e-3, end_lr=100.0, num_steps=150, progress=False)
    assert result.diverged_at is not None and all(np.isfinite(result.smoothed))
    assert all(v is None or 1e-3 <= v <= 100.0 for v in result.suggestions.values())
    assert result.suggestions["steep"] is not None
    assert all(torch.equal(before[name], p) for name, p in model.state_dict().items())


def test_sequences_have_a_target_at_every_position_and_the_windows_of_characters() -> None:
    text = stdlib_text()
    seqs = char_sequences(8, n_train=3000, n_val=1000, n_test=1000, seed=3)
    same = characters(8, n_train=3000, n_val=1000, n_test=1000, seed=3)
    for split in ("train", "val", "test"):
        X, y = seqs.split(split)
        starts = seqs.starts[split]
        assert np.array_equal(starts, same.starts[split]) and np.array_equal(X, same.split(split).X)
        assert X.dtype == y.dtype == np.int64 and X.shape == y.shape == (len(starts), 8)
        assert np.array_equal(X[:, 1:], y[:, :-1]) and np.array_equal(y[:, -1], same.split(split).y)
        for i in range(0, len(starts), 97):
            s = int(starts[i])
            assert seqs.decode(X[i]) == text[s:s + 8] and seqs.decode(y[i]) == text[s + 1:s + 9]
        # every input and every target lies in a block of its own split: nothing leaks between splits
        blocks = np.unique(np.concatenate([starts // BLOCK, (starts + 8) // BLOCK]) % 10)
        assert set(blocks.tolist()) <= {"train": set(range(8)), "val": {8}, "test": {9}}[split]
    assert seqs.n_classes == len(ALPHABET) and seqs.context == 8


def test_sequences_check_their_arguments() -> None:
    with pytest.raises(ValueError, match=r"n_train must be at most \d+"):
        char_sequences(64, n_train=10**6)
    with pytest.raises(ValueError, match="context"):
        char_sequences(0)
    with pytest.raises(TypeError, match="seed"):
        char_sequences(8, seed="1")
