import pytest

from spacy_rnnlm.inference.units import batches_by_padded_size


def test_batches_by_padded_size_bounds_padding():
    lengths = [2, 2, 3, 5, 8, 9]
    assert list(batches_by_padded_size(list(range(6)), lengths, 100)) == [[0, 1, 2, 3, 4, 5]]
    assert list(batches_by_padded_size(list(range(6)), lengths, 16)) == [[0, 1, 2], [3, 4], [5]]


@pytest.mark.parametrize("ratio,expected", [(1.5, [[0, 1, 2], [3], [4, 5]]), (3.0, [[0, 1, 2, 3], [4, 5]]), (1.0, [[0, 1], [2], [3], [4], [5]])])
def test_batches_by_padded_size_bounds_the_length_ratio(ratio, expected):
    assert list(batches_by_padded_size(list(range(6)), [2, 2, 3, 5, 8, 9], 1000, ratio)) == expected
