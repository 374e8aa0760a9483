"""LabelSchema: fixed, ordered label columns and their codes."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.data.schema import LabelSchema, LabelSource


def test_encode_decode_round_trip() -> None:
    schema = LabelSchema(["greet", "bye", "oos"])
    codes = schema.encode(["bye", "oos", "greet", "bye"])
    assert codes.dtype == np.intp
    assert codes.tolist() == [1, 2, 0, 1]
    assert schema.decode(codes) == ["bye", "oos", "greet", "bye"]
    assert schema.n_classes == 3
    assert schema.code_of("oos") == 2


def test_classes_keep_the_given_order() -> None:
    schema = LabelSchema(iter(["z", "a", "m"]))
    assert schema.classes == ("z", "a", "m")
    assert schema.encode(["a"]).tolist() == [1]


def test_unknown_label_key_error_names_the_label() -> None:
    schema = LabelSchema(["greet", "bye"])
    with pytest.raises(KeyError) as info:
        schema.encode(["greet", "hello_there"])
    message = info.value.args[0]
    assert "'hello_there'" in message
    assert "2 classes" in message
    assert "'greet'" in message


def test_duplicate_class_names_are_refused() -> None:
    with pytest.raises(ValueError, match=r"Repeated: \['a', 'b'\]"):
        LabelSchema(["a", "b", "c", "b", "a"])


def test_empty_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one class"):
        LabelSchema([])


def test_multilabel_encode_to_indicator_and_decode_back() -> None:
    schema = LabelSchema(["news", "sport", "tech"], multilabel=True)
    labels = [["sport", "news"], [], ["tech"]]
    indicator = schema.encode(labels)
    assert indicator.dtype == np.bool_
    assert indicator.astype(int).tolist() == [[1, 1, 0], [0, 0, 0], [0, 0, 1]]
    # decode follows schema order, not the order the labels were given in
    assert schema.decode(indicator) == [["news", "sport"], [], ["tech"]]


def test_multilabel_refuses_a_bare_string() -> None:
    schema = LabelSchema(["news", "sport"], multilabel=True)
    with pytest.raises(TypeError, match="'news'"):
        schema.encode(["news"])


def test_multilabel_unknown_label_raises_key_error() -> None:
    schema = LabelSchema(["news", "sport"], multilabel=True)
    with pytest.raises(KeyError, match="weather"):
        schema.encode([["news", "weather"]])


def test_to_dict_from_dict_round_trip() -> None:
    schema = LabelSchema(["b", "a"], multilabel=True)
    data = schema.to_dict()
    assert data == {"classes": ["b", "a"], "multilabel": True}
    again = LabelSchema.from_dict(data)
    assert again == schema
    assert again.encode([["a"]]).tolist() == [[False, True]]


def test_from_dict_defaults_to_single_label() -> None:
    schema = LabelSchema.from_dict({"classes": ["x", "y"]})
    assert schema.multilabel is False
    assert schema == LabelSchema(["x", "y"])
    assert schema != LabelSchema(["y", "x"])


def test_label_source_values() -> None:
    assert [s.value for s in LabelSource] == ["human", "model", "rule"]
    assert LabelSource("rule") is LabelSource.RULE
