import pytest

from plugin.domain.merge_patch import deep_merge, merge_patch


# The examples of RFC 7396, appendix A.
@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_rfc7396_examples(target, patch, result):
    assert merge_patch(target, patch) == result


def test_merge_patch_does_not_mutate_its_inputs():
    target = {"a": {"b": [1]}}
    patch = {"a": {"c": 2}}
    merge_patch(target, patch)
    assert target == {"a": {"b": [1]}}
    assert patch == {"a": {"c": 2}}


def test_deep_merge_overlays_defaults():
    defaults = {"pricing": {"rate": "0.02", "bands": [1], "maximum": None}}
    assert deep_merge(defaults, {"pricing": {"rate": "0.03", "bands": []}}) == {
        "pricing": {"rate": "0.03", "bands": [], "maximum": None}
    }
    assert defaults["pricing"]["rate"] == "0.02"
