"""protowire: hand-framed messages parse as the protobuf runtime's own, and back."""
import pytest
from p4nic.proto import p4runtime_pb2

from p4nic import protowire


@pytest.mark.parametrize("number", [0, 1, 127, 128, 300, 2 ** 32 - 1, 2 ** 63])
def test_varint_round_trip(number):
    data = protowire.varint(number)
    assert protowire.read_varint(data + b"\xff", 0) == (number, len(data))


def test_framed_updates_parse_as_a_write_request():
    entities = [p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry(table_id=i, priority=i))
                for i in range(1, 4)]
    header = p4runtime_pb2.WriteRequest(device_id=3, atomicity=1)
    body = header.SerializeToString() + b"".join(
        protowire.length_delimited(4, protowire.varint(1 << 3) + protowire.varint(2)
                                   + protowire.length_delimited(2, e.SerializeToString()))
        for e in entities)
    request = p4runtime_pb2.WriteRequest.FromString(body)
    assert request.device_id == 3 and request.atomicity == 1
    assert [u.type for u in request.updates] == [2, 2, 2]
    assert [u.entity for u in request.updates] == entities


def test_repeated_messages_skips_other_fields():
    response = p4runtime_pb2.WriteRequest(device_id=7, role="r", atomicity=2)
    response.election_id.low = 9
    for i in range(3):
        response.updates.add(type=1).entity.table_entry.table_id = i + 1
    found = protowire.repeated_messages(response.SerializeToString(), 4)
    assert [p4runtime_pb2.Update.FromString(f) for f in found] == list(response.updates)
    with pytest.raises(ValueError):
        protowire.repeated_messages(b"\x0b", 1)          # wire type 3 (groups): not protobuf 3
