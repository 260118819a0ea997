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
