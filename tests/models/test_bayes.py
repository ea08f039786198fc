import numpy as np
import pandas as pd
import pytest

from accord import InvalidParameterError, posterior

VOTES = pd.DataFrame({"item": ["bird"] * 3, "annotator": ["a", "b", "c"], "label": ["owl", "owl", "falcon"]})


def test_seed003_owl_falcon_example():
    post = posterior(VOTES, accuracies={"a": 0.6, "b": 0.6, "c": 0.8})
    assert post.loc["bird", "owl"] == pytest.approx(0.36)
    assert post.loc["bird", "falcon"] == pytest.approx(0.64)


def test_full_confusions_and_prior():
    eye = np.array([[0.6, 0.4], [0.4, 0.6]])  # classes sorted: falcon, owl
    strong = np.array([[0.8, 0.2], [0.2, 0.8]])
    post = posterior(VOTES, confusions={"a": eye, "b": eye, "c": strong}, priors={"falcon": 0.5, "owl": 0.5})
    assert post.loc["bird", "falcon"] == pytest.approx(0.64)
    skewed = posterior(VOTES, accuracies={"a": 0.6, "b": 0.6, "c": 0.8}, priors=[0.2, 0.8])
    expected_owl = 0.8 * 0.072 / (0.8 * 0.072 + 0.2 * 0.128)
    assert skewed.loc["bird", "owl"] == pytest.approx(expected_owl)


def test_errors():
    with pytest.raises(InvalidParameterError, match="exactly one"):
        posterior(VOTES)
    with pytest.raises(InvalidParameterError, match="missing annotator"):
        posterior(VOTES, accuracies={"a": 0.6})
    with pytest.raises(InvalidParameterError, match="priors"):
        posterior(VOTES, accuracies={"a": 0.6, "b": 0.6, "c": 0.8}, priors=[0.5, 0.6])
