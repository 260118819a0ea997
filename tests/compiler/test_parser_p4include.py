"""Our own core.p4/v1model.p4 declare exactly what p4c's do (P4Info names and ids depend on
it): compared as parsed ASTs, without locations, for both V1MODEL_VERSION generations."""
import dataclasses
from pathlib import Path

import pytest

from p4nic.compiler import ast
from p4nic.compiler.errors import SourceLocation
from p4nic.compiler.parser import parse
from p4nic.compiler.preprocess import BUNDLED_INCLUDE_DIR, preprocess

P4C_INCLUDE_DIR = Path("/work/ref/p4include")


def shape(value):
    """A node tree as plain data, without source locations and raw annotation text."""
    if isinstance(value, ast.Node):
        return (type(value).__name__, {
            f.name: shape(getattr(value, f.name)) for f in dataclasses.fields(value)
            if f.name not in ("loc", "type", "decl", "raw")})
    if isinstance(value, (list, tuple)):
        return [shape(v) for v in value if not isinstance(v, SourceLocation)]
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    return value


def declarations(tmp_path, include_dir, defines):
    main = tmp_path / "main.p4"
    main.write_text("#include <v1model.p4>\n")
    return shape(parse(preprocess(str(main), [str(include_dir)], defines)).declarations)


@pytest.mark.skipif(not P4C_INCLUDE_DIR.is_dir(), reason="p4c's include files are not here")
@pytest.mark.parametrize("defines", [{}, {"V1MODEL_VERSION": "20200408"}], ids=["default", "2020"])
def test_bundled_v1model_declares_what_p4c_declares(tmp_path, defines):
    ours = declarations(tmp_path, BUNDLED_INCLUDE_DIR, defines)
    theirs = declarations(tmp_path, P4C_INCLUDE_DIR, defines)
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs):
        assert mine == reference


def test_bundled_v1model_has_the_architecture(tmp_path):
    names = [d[1].get("name") for d in declarations(tmp_path, BUNDLED_INCLUDE_DIR, {})]
    for name in ("packet_in", "NoAction", "standard_metadata_t", "register", "V1Switch",
                 "__v1model_version", "mark_to_drop", "clone_preserving_field_list"):
        assert name in names
