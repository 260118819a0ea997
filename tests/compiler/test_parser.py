"""Parser tests: P4 source through preprocess() and parse() into the AST."""
from pathlib import Path

import pytest

from p4nic.compiler import ast
from p4nic.compiler.parser import parse
from p4nic.compiler.preprocess import preprocess

PROGRAMS = Path(__file__).parent / "programs"


def parse_file(path):
    return parse(preprocess(str(path)))


@pytest.mark.parametrize("path", sorted(PROGRAMS.glob("*.p4")), ids=lambda p: p.name)
def test_every_corpus_program_parses(path):
    program = parse_file(path)
    main = program.declarations[-1]
    assert isinstance(main, ast.Instantiation) and main.name == "main"


def test_basic_router_shape():
    program = parse_file(PROGRAMS / "basic_router.p4")
    by_name = {getattr(d, "name", None): d for d in program.declarations}
    ingress = by_name["RouterIngress"]
    assert isinstance(ingress, ast.ControlDeclaration)
    assert [p.name for p in ingress.params] == ["hdr", "meta", "std_meta"]
    table = next(d for d in ingress.locals if isinstance(d, ast.TableDeclaration))
    assert table.prop("key").value[0].match_kind == "lpm"
    actions = [a.name.name for a in table.prop("actions").value]
    assert actions == ["forward", "drop", "NoAction"]
    default = table.prop("default_action").value
    assert isinstance(default, ast.ActionRef) and default.name.name == "drop"
    assert table.prop("size").value.value == 1024
    assert table.loc.line == 73 and table.loc.file.endswith("basic_router.p4")


def test_grammar_has_only_the_known_lalr_conflicts(caplog):
    """Shift/reduce conflicts are resolved as shifts silently; only the two intended ones may
    exist: the dangling `else`, and a switch label followed by a block."""
    import logging

    from lark import Lark, logger as lark_logger

    from p4nic.compiler.parser import GRAMMAR_PATH, _TokenListLexer

    level = lark_logger.level
    lark_logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="lark"):
            Lark(GRAMMAR_PATH.read_text(), parser="lalr", lexer=_TokenListLexer, debug=True,
                 start=["program", "annotation_args", "annotation_kv"], maybe_placeholders=True)
    finally:
        lark_logger.setLevel(level)
    messages = [r.getMessage() for r in caplog.records]
    conflicts = {m.split(":")[0] for m in messages if "conflict" in m}
    assert conflicts == {"Shift/Reduce conflict for terminal ELSE",
                         "Shift/Reduce conflict for terminal LBRACE"}
