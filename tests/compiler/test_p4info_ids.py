"""P4Runtime id assignment and aliases, checked against ids p4c is known to give."""
import pytest

from p4nic.compiler.errors import CompileError
from p4nic.compiler.p4info import ids


def test_hash_matches_p4c_ids():
    # p4c gives core.p4's NoAction the action id 21257015 in every program.
    assert ids.ACTION << 24 | ids.jenkins_hash("NoAction") & 0xFFFFFF == 21257015
    # and a table named "ingress.bd" the id 48392551 (p4c testdata basic_routing-bmv2).
    assert ids.TABLE << 24 | ids.jenkins_hash("ingress.bd") & 0xFFFFFF == 48392551


def test_symbol_table_assigns_hash_ids_and_honours_at_id():
    s = ids.SymbolTable()
    s.add(ids.ACTION, "NoAction")
    s.add(ids.TABLE, "ingress.t", user_id=7)
    s.add(ids.TABLE, "ingress.u", user_id=ids.TABLE << 24 | 9)
    s.assign()
    assert s.id(ids.ACTION, "NoAction") == 21257015
    assert s.id(ids.TABLE, "ingress.t") == ids.TABLE << 24 | 7
    assert s.id(ids.TABLE, "ingress.u") == ids.TABLE << 24 | 9


def test_collision_probes_to_next_free_id():
    s = ids.SymbolTable()
    h = ids.jenkins_hash("a.b") & 0xFFFFFF
    s.add(ids.TABLE, "x", user_id=h)          # takes the id "a.b" would hash to
    s.add(ids.TABLE, "a.b")
    s.assign()
    assert s.id(ids.TABLE, "a.b") == ids.TABLE << 24 | (h + 1) & 0xFFFFFF


def test_wrong_prefix_and_duplicate_ids_are_errors():
    s = ids.SymbolTable()
    with pytest.raises(CompileError, match="wrong 8-bit prefix"):
        s.add(ids.TABLE, "t", user_id=ids.ACTION << 24 | 1)
    s.add(ids.TABLE, "u", user_id=5)
    with pytest.raises(CompileError, match="multiple declarations"):
        s.add(ids.TABLE, "v", user_id=5)


def test_alias_is_shortest_unique_suffix_across_all_symbols():
    s = ids.SymbolTable()
    for name in ("ingress.c1.t", "ingress.c2.t", "egress.drop", "ingress.fwd"):
        s.add(ids.TABLE, name)
    s.add(ids.ACTION, "ingress.drop")
    assert s.alias("ingress.c1.t") == "c1.t"
    assert s.alias("ingress.fwd") == "fwd"
    assert s.alias("egress.drop") == "egress.drop"
    assert s.alias("ingress.drop") == "ingress.drop"


def test_field_ids_number_in_order_after_user_ids():
    items = ["a", "b", "c", "d"]
    user = {"a": 2, "c": 7}
    assert ids.field_ids(items, user.get) == [2, 3, 7, 4]
    assert ids.field_ids(["x", "y"], lambda _: None) == [1, 2]
