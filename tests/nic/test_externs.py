"""Counter, meter and register arrays: packet-path and control-plane behaviour."""

import pytest

from p4nic.nic.externs import GREEN, RED, YELLOW, CounterArray, MeterArray, RegisterArray
from p4nic.nic.tables import OutOfRange, TableError


def test_counter_counts_packets_and_bytes():
    c = CounterArray("c", 1, 4)
    c.count(2, 100)
    c.count(2, 60)
    c.count(9, 60)  # out of range on the packet path: ignored, as BMv2
    assert c.read(2) == (160, 2)
    assert c.read(0) == (0, 0)
    c.write(1, 500, 5)
    assert c.read(1) == (500, 5)
    c.reset()
    assert [c.read(i) for i in range(4)] == [(0, 0)] * 4


def test_counter_control_plane_errors():
    c = CounterArray("c", 1, 4)
    with pytest.raises(OutOfRange, match="index 4 out of range"):
        c.read(4)
    with pytest.raises(OutOfRange):
        c.write(-1, 0, 0)
    with pytest.raises(TableError, match="must be an int >= 0"):
        c.write(0, 0, -5)


def test_register_wraps_on_packet_path_and_checks_on_control_plane():
    r = RegisterArray("r", 1, 8, 12)
    r.store(3, 0x1234)
    assert r.load(3) == 0x234
    assert r.load(8) is None
    r.store(8, 1)  # ignored
    r.write(0, 0xFFF)
    assert r.read(0) == 0xFFF
    with pytest.raises(TableError, match="does not fit in 12 bits"):
        r.write(0, 0x1000)
    with pytest.raises(OutOfRange):
        r.read(8)
    r.reset()
    assert r.values == [0] * 8


def test_unconfigured_meter_is_green():
    m = MeterArray("m", 1, 2, "packets")
    assert [m.execute(0, 64, now=t / 1000) for t in range(100)] == [GREEN] * 100
    assert m.get_rates(0) is None
    assert m.execute(2, 64) is None  # out of range: BMv2 leaves the destination alone


def test_packet_meter_two_rates_three_colours():
    m = MeterArray("m", 1, 1, "packets")
    # CIR 1000 pkt/s burst 2, PIR 2000 pkt/s burst 4
    m.set_rates(0, [(1000, 2), (2000, 4)], now=0.0)
    colours = [m.execute(0, 1500, now=0.0) for _ in range(6)]
    # 2 within CIR burst, 2 more within PIR burst, then red
    assert colours == [GREEN, GREEN, YELLOW, YELLOW, RED, RED]
    # 1 ms later: one CIR token and two PIR tokens came back
    assert [m.execute(0, 1500, now=0.001) for _ in range(3)] == [GREEN, YELLOW, RED]
    assert m.get_rates(0) == ((1000, 2), (2000, 4))


def test_byte_meter_uses_packet_length():
    m = MeterArray("m", 1, 1, "bytes")
    m.set_rates(0, [(1_000_000, 1000), (2_000_000, 3000)], now=0.0)
    assert m.execute(0, 800, now=0.0) == GREEN
    assert m.execute(0, 800, now=0.0) == YELLOW  # 200 committed bytes left
    assert m.execute(0, 2000, now=0.0) == RED  # 1400 peak bytes left
    # 1 ms refills 1000 committed and 2000 peak bytes (capped at the bursts)
    assert m.execute(0, 1000, now=0.001) == GREEN


def test_meter_config_checks_and_reset():
    m = MeterArray("m", 1, 2, "packets")
    with pytest.raises(TableError, match="must not decrease"):
        m.set_rates(0, [(2000, 1), (1000, 1)])
    with pytest.raises(TableError, match="expected 2"):
        m.set_rates(0, [(1000, 1)])
    with pytest.raises(TableError, match="bad meter burst"):
        m.set_rates(0, [(1000, -1), (2000, 1)])
    with pytest.raises(OutOfRange):
        m.set_rates(2, [(1, 1), (2, 2)])
    m.set_rates(1, [(0, 0), (0, 0)], now=0.0)
    assert m.execute(1, 1, now=1.0) == RED
    m.set_rates(1, None)
    assert m.execute(1, 1, now=1.0) == GREEN
    m.set_rates(0, [(0, 0), (0, 0)], now=0.0)
    m.set_rates(1, [(0, 0), (0, 0)], now=0.0)
    m.reset(0)
    assert (m.execute(0, 1, now=1.0), m.execute(1, 1, now=1.0)) == (GREEN, RED)
    m.reset()
    assert m.execute(1, 1, now=1.0) == GREEN


def test_direct_meter_array_makes_cells():
    m = MeterArray("dm", 3, 0, "bytes", is_direct=True, binding="t", result_target=["m", "c"])
    cell = m.new_cell()
    assert m.size == 0 and cell.execute(100) == GREEN
    m.configure_cell(cell, [(0, 50), (0, 150)], now=0.0)
    assert [cell.execute(100, now=0.0) for _ in range(2)] == [YELLOW, RED]
    with pytest.raises(TableError):
        m.configure_cell(cell, [(5, 1)])


def test_meter_rejects_bad_unit():
    with pytest.raises(TableError, match="packets or bytes"):
        MeterArray("m", 1, 1, "bits")
