"""The native Write path: a WriteRequest's table entries decoded and inserted in C.

The Python codecs (codecs.py) still cost ~8-10 us an entry, about half BMv2+PI's INSERT rate:
re-serializing each parsed Update, a regular expression, generated Python and MatchTable's
insert. `write_native.c`, compiled at first use (p4nic.native), works on the request's wire
bytes instead: it splits off the Updates, decodes each one of a table with a codec into what
the codec would return (or None), and inserts INSERTs into exact and single-field lpm tables
as MatchTable does. What it cannot take goes through `Entities` update by update, in order:
the Python codecs and the general path, which phrases every error. Without a compiler the
Python path serves alone (one log line says so).

Kept identical to the Python path: the same entries accepted, the same stored (echo bytes
included), the same errors, in the same order. So the C side takes only Updates written in
protobuf's canonical form (a Python codec sees its input re-serialized, hence canonical), and a
request with any Update it cannot decode is parsed whole by protobuf too, so that a malformed
request is refused as before (tests/nic/test_p4runtime_write_paths.py,
tests/nic/test_native_writes.py).
"""
import time
from pathlib import Path

from p4nic.native import NativeModule
from p4nic.nic.p4runtime.errors import MALFORMED, P4RuntimeError, invalid
from p4nic.nic.tables import Entry
from p4nic.proto import p4runtime_pb2

WriteRequest = p4runtime_pb2.WriteRequest
Update = p4runtime_pb2.Update
CONTINUE_ON_ERROR = WriteRequest.CONTINUE_ON_ERROR
# Updates decoded, or parsed by protobuf, per call: the interpreter is held for each call, so
# packets wait at most one piece (a 100,000-update request decoded at once held it ~90 ms)
PIECE_UPDATES = 1000

NATIVE = NativeModule("_p4nic_write_native", Path(__file__).with_name("write_native.c"),
                      "P4Runtime writes use the Python codecs")


class NativeWrites:
    """The native Write path of one `Entities` (one pipeline config)."""

    def __init__(self, entities, module):
        self.entities = entities
        self.native = module
        self.layouts: dict = {}     # table id -> TableLayout, or None: no codec, Python's
        self.targets: dict = {}     # table id -> InsertTarget (exact, single-field lpm)
        # C fills an Entry slot by slot: only while it knows every slot (else Python inserts)
        self.inline = module.entry_slots() == Entry.__slots__

    def prepare(self, data: bytes, split: tuple | None):
        """A `NativeBatch` of the request's Updates, decoded; None when this path does not
        serve the request (control-plane logging on, an atomic batch, odd framing): the caller
        parses it and writes it the Python way. `split`: what `split(data)` gave."""
        if self.entities.trace is not None or split is None:
            return None
        header, spans = split
        try:
            request = WriteRequest.FromString(header)
        except MALFORMED:
            return None
        if request.atomicity != CONTINUE_ON_ERROR:
            return None
        items, undecoded = [], 0
        for start in range(0, len(spans), PIECE_UPDATES):
            piece = spans[start:start + PIECE_UPDATES]
            decoded, new_tables, left = self.native.decode(self.layouts, data, piece)
            if new_tables:
                for table_id in new_tables:
                    self.add_table(table_id)
                decoded, _, left = self.native.decode(self.layouts, data, piece)
            items += decoded
            undecoded += left
        return NativeBatch(self, data, request, spans, items, undecoded > 0)

    def single(self, data: bytes) -> tuple | None:
        """(device id, election id or None, decoded Update) of a request of one Update, in the
        default role with CONTINUE_ON_ERROR, that the C side reads whole; None for any other
        request, or while control-plane logging is on."""
        if self.entities.trace is not None:
            return None
        return self.native.single(self.layouts, data)

    def write_single(self, item: tuple) -> bool:
        """Apply a decoded Update of `single` in the default role: inserted in C when it can be,
        else through its table's codec (`Entities.write_decoded`); False with nothing done when
        the general path must serve it, and say why not (a key there already, or not...)."""
        if self.native.insert(self.targets, [item], 0, 1, "", time.monotonic(), []) == 1:
            return True
        try:
            return self.entities.write_decoded(item[0], item[1:], "")
        except P4RuntimeError:
            return False

    def split(self, data: bytes) -> tuple | None:
        """(the request without its Updates, [(start, end) of each Update]), found
        PIECE_UPDATES Updates per call of the C side (a 100,000-update request split in one
        call held the interpreter ~25 ms); None when the framing is not plain."""
        headers, spans, position = [], [], 0
        while True:
            piece = self.native.split(data, position, PIECE_UPDATES)
            if piece is None:
                return None
            header, found, position = piece
            headers.append(header)
            spans += found
            if position == len(data):
                return b"".join(headers), spans

    def parse(self, data: bytes, split: tuple | None) -> WriteRequest:
        """The whole request, parsed by protobuf PIECE_UPDATES Updates at a time: parsing is
        merging, so the pieces, cut where an Update ends, make the same message, and between
        two of them the port loop can take the interpreter (a 100,000-update request parsed
        at once holds it for ~70 ms, packets waiting). `split`: what `split(data)` gave (None:
        parsed in one piece). INVALID_ARGUMENT when malformed."""
        spans = split[1] if split is not None else []
        cuts = [spans[k][1] for k in range(PIECE_UPDATES - 1, len(spans) - 1, PIECE_UPDATES)]
        request = WriteRequest()
        try:
            for start, end in zip([0] + cuts, cuts + [len(data)]):
                request.MergeFromString(data[start:end])
        except MALFORMED as exc:
            raise invalid(f"malformed WriteRequest: {exc}") from None
        return request

    def add_table(self, table_id: int) -> None:
        """The table's layout (from its codec), and its insert target if it has the shape."""
        codec = self.entities.codec(table_id)
        if codec is None:
            self.layouts[table_id] = None
            return
        table, keys = codec.table, codec.match_table.key
        self.layouts[table_id] = self.native.TableLayout(
            table_id, table.needs_priority, table.supports_idle_timeout,
            [(f.id, f.kind, f.bitwidth, key.match_type == "ternary")
             for f, key in zip(table.fields, keys)],
            [(action_id, json_id, list(params)) for action_id, json_id, params in codec.actions])
        parts = codec.match_table.native_insert_parts()
        if parts is not None and self.inline:
            self.targets[table_id] = self.native.InsertTarget(
                codec.match_table, table.role, *parts, codec.match_table.max_size, Entry)


class NativeBatch:
    """One decoded WriteRequest: `request` (parsed without its Updates, or whole when some
    Update needs protobuf: `undecoded`), and per Update a decoded item or None."""

    def __init__(self, writes: NativeWrites, data: bytes, request, spans: list, items: list,
                 undecoded: bool):
        self.writes = writes
        self.data = data
        self.request = request
        self.spans = spans
        self.items = items
        self.undecoded = undecoded
        self.whole = False          # whether `request` holds the Updates

    def __len__(self):
        return len(self.items)

    def parsed(self, request) -> None:
        """The whole request, parsed (for the Updates the C side did not decode)."""
        self.request, self.whole = request, True

    def insert(self, start: int, stop: int, role: str, errors: list) -> int:
        """Insert items[start:stop] natively while it can (appending None to `errors` for each);
        the index of the first one left."""
        writes = self.writes
        return writes.native.insert(writes.targets, self.items, start, stop, role,
                                    time.monotonic(), errors)

    def write_one(self, i: int, role: str) -> None:
        """Update i the Python way: its decoded form through the codec's apply, else parsed
        through `Entities.write` (which raises the error)."""
        entities = self.writes.entities
        item = self.items[i]
        if item is not None and entities.write_decoded(item[0], item[1:], role):
            return
        if self.whole:
            update = self.request.updates[i]
        else:
            start, end = self.spans[i]
            update = Update.FromString(self.data[start:end])
        entities.write(update, role)
