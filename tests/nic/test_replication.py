"""Multicast groups and clone sessions of the packet replication engine."""

import pytest

from p4nic.nic.replication import Replication
from p4nic.nic.tables import AlreadyExists, NotFound, TableError


def test_multicast_group_lifecycle():
    pre = Replication()
    pre.create_group(5, [(3, 1), (1, 1), (2, 7), (4, 0)])
    # one node per rid in order of first appearance, ports ascending within a node
    assert pre.multicast_groups[5] == ((1, 1), (3, 1), (2, 7), (4, 0))
    with pytest.raises(AlreadyExists):
        pre.create_group(5, [])
    pre.modify_group(5, [(9, 0)])
    assert pre.get_group(5) == ((9, 0),)
    pre.delete_group(5)
    assert pre.multicast_groups.get(5) is None
    with pytest.raises(NotFound):
        pre.modify_group(5, [(1, 0)])
    with pytest.raises(NotFound):
        pre.delete_group(5)


def test_an_empty_group_is_allowed():
    pre = Replication()
    pre.create_group(1)
    assert pre.multicast_groups[1] == ()


@pytest.mark.parametrize("group_id, replicas, message", [
    (0, [], "must be an int > 0"),
    (1, [(1, 0), (1, 0)], "duplicate replica"),
    (1, [(1,)], "is not \\(port, rid\\)"),
    (1, [(-1, 0)], "port -1"),
    (1, [(1, "x")], "rid 'x'"),
])
def test_bad_multicast_groups_are_rejected(group_id, replicas, message):
    pre = Replication()
    with pytest.raises(TableError, match=message):
        pre.create_group(group_id, replicas)
    assert pre.multicast_groups == {}


def test_the_same_port_with_two_rids_is_two_replicas():
    pre = Replication()
    pre.create_group(2, [(1, 0), (1, 1)])
    assert pre.multicast_groups[2] == ((1, 0), (1, 1))


def test_clone_session_lifecycle():
    pre = Replication()
    pre.create_session(100, [(4, 0)], class_of_service=2, packet_length_bytes=64)
    session = pre.clone_sessions[100]
    assert (session.replicas, session.class_of_service, session.packet_length_bytes) == (
        ((4, 0),), 2, 64)
    with pytest.raises(AlreadyExists):
        pre.create_session(100, [(5, 0)])
    pre.modify_session(100, [(5, 0), (6, 0)])
    assert pre.get_session(100).replicas == ((5, 0), (6, 0))
    assert pre.get_session(100).packet_length_bytes == 0
    pre.delete_session(100)
    assert pre.clone_sessions.get(100) is None
    with pytest.raises(NotFound):
        pre.modify_session(100, [])
    with pytest.raises(TableError, match="packet length -1"):
        pre.create_session(1, [(1, 0)], packet_length_bytes=-1)
    with pytest.raises(TableError, match="class of service"):
        pre.create_session(1, [(1, 0)], class_of_service=-3)


def test_clear():
    pre = Replication()
    pre.create_group(1, [(1, 0)])
    pre.create_session(1, [(1, 0)])
    pre.clear()
    assert pre.multicast_groups == {} and pre.clone_sessions == {}
