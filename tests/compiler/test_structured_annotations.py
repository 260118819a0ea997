"""Structured annotations (`@x[...]`) become P4Info `structured_annotations` with typed values,
as p4c's serializeOneStructuredAnnotation writes them; unstructured ones stay strings."""
from pathlib import Path

import pytest
from google.protobuf import text_format

from p4nic.compiler.driver import compile_file
from p4nic.compiler.errors import CompileError

PROGRAMS = Path(__file__).parent / "programs"


@pytest.fixture(scope="module")
def info():
    return compile_file(str(PROGRAMS / "structured_annotations.p4")).p4info


def by_name(entries, name):
    return next(e for e in entries if e.preamble.name == name)


def values(expressions) -> list:
    return [getattr(e, e.WhichOneof("value")) for e in expressions]


def kv(annotation) -> dict:
    return {p.key: getattr(p.value, p.value.WhichOneof("value"))
            for p in annotation.kv_pair_list.kv_pairs}


def test_key_value_list_with_constants_and_macros(info):
    action = by_name(info.actions, "Ing.set_port")
    [owner] = action.preamble.structured_annotations
    assert owner.name == "Owner" and owner.WhichOneof("body") == "kv_pair_list"
    assert kv(owner) == {"team": "netops", "stage": 8, "fast": True}
    kinds = [p.value.WhichOneof("value") for p in owner.kv_pair_list.kv_pairs]
    assert kinds == ["string_value", "int64_value", "bool_value"]
    # the unstructured annotation beside it stays a string
    assert list(action.preamble.annotations) == ['@ui_label("Set the port")']


def test_expression_list_is_folded_with_trailing_comma(info):
    [tags] = by_name(info.actions, "Ing.drop").preamble.structured_annotations
    assert tags.WhichOneof("body") == "expression_list"
    assert values(tags.expression_list.expressions) == ["drop", "sink_hole", False]
    assert not by_name(info.actions, "Ing.drop").preamble.annotations


def test_every_annotated_p4info_object(info):
    table = by_name(info.tables, "Ing.forward")
    assert [kv(a) for a in table.preamble.structured_annotations] == [{"stage": 4}]
    [field] = table.match_fields
    assert values(field.structured_annotations[0].expression_list.expressions) == ["mac"]
    assert [values(r.structured_annotations[0].expression_list.expressions)
            for r in table.action_refs] == [[1], [2]]
    [param] = by_name(info.actions, "Ing.set_port").params
    assert values(param.structured_annotations[0].expression_list.expressions) == ["port", 4]
    assert [kv(a) for a in info.pkg_info.structured_annotations] == [
        {"version": "1.2", "count": 3}]
    assert info.pkg_info.name == "structured.p4" and info.pkg_info.organization == "p4nic"


def test_empty_body_local_constants_and_int64_range(info):
    empty, limits = by_name(info.counters, "Ing.hits").preamble.structured_annotations
    assert empty.name == "Empty" and empty.WhichOneof("body") is None
    assert kv(limits) == {"low": -5, "high": 2 ** 63 - 1, "slot": 7}


def test_text_format_is_what_p4runtime_tools_read(info):
    text = text_format.MessageToString(by_name(info.tables, "Ing.forward").preamble)
    assert 'structured_annotations {\n  name: "Layout"\n  kv_pair_list {' in text


def test_integer_beyond_int64_is_an_error(tmp_path):
    src = tmp_path / "big.p4"
    text = (PROGRAMS / "structured_annotations.p4").read_text()
    src.write_text(text.replace("high=0x7fffffffffffffff", "high=0x8000000000000000"))
    with pytest.raises(CompileError, match="must fit in int64") as info:
        compile_file(str(src))
    assert info.value.loc.line == text.split("\n").index(
        next(line for line in text.split("\n") if "high=0x7f" in line)) + 1


def test_platform_property_reaches_pkg_info(tmp_path):
    src = tmp_path / "props.p4"
    text = (PROGRAMS / "structured_annotations.p4").read_text()
    src.write_text(text.replace("@pkginfo(", "@platform_property(multicast_group_table_size=64)\n"
                                             "@pkginfo("))
    info = compile_file(str(src)).p4info
    assert info.pkg_info.platform_properties.multicast_group_table_size == 64
    assert not any("platform_property" in a for a in info.pkg_info.annotations)
