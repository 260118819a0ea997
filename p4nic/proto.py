"""P4Runtime's protobuf modules, the one place p4nic imports them from, under any protobuf.

The `p4runtime` wheels on PyPI ship generated code of the protobuf 3 era
(`_descriptor.FileDescriptor(..., serialized_pb=b'...')`), which protobuf 4 and later refuse
to load ("Descriptors cannot be created directly"). p4runtime-shell pins protobuf 3.20, whose
pure-Python runtime parses a few thousand table entries a second; p4nic's own environment runs
a current protobuf, whose compiled (upb) runtime is about twenty times faster.

So: under protobuf 3.x the installed modules are used as they are. Otherwise the serialized
file descriptors they embed are read out of their source (the `serialized_pb` literal, with
`ast`; nothing of that code runs), added to the default descriptor pool in dependency order,
and each module is built the way current protoc output builds itself
(`google.protobuf.internal.builder`, the call every generated `_pb2.py` of protobuf >= 4 makes).
The modules are registered under their own names, so `p4.v1.p4runtime_pb2_grpc` (plain gRPC
code, it loads as is) and any user code that imports `p4.v1.p4runtime_pb2` after p4nic get
these very classes.

    from p4nic.proto import p4runtime_pb2, p4info_pb2, p4runtime_pb2_grpc
"""
import ast
import importlib
import importlib.util
import sys
import types

import google.protobuf
from google.protobuf.internal import api_implementation
from google.protobuf import any_pb2  # noqa: F401 - loads google/protobuf/any.proto into the pool
from google.rpc import code_pb2, status_pb2  # noqa: F401 - status.proto, before p4runtime.proto

# The P4Runtime modules, each after the ones it depends on.
MODULES = ("p4.config.v1.p4types_pb2", "p4.config.v1.p4info_pb2", "p4.v1.p4data_pb2",
           "p4.v1.p4runtime_pb2")
PROTOBUF_MAJOR = int(google.protobuf.__version__.split(".")[0])


def serialized_descriptor(module_name: str) -> bytes:
    """The FileDescriptorProto bytes an old-style generated module passes as `serialized_pb`."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise ImportError(f"{module_name} is not installed (the p4runtime package provides it)")
    with open(spec.origin, encoding="utf-8") as source:
        for line in source:
            name, sep, literal = line.strip().partition("=")
            if sep and name == "serialized_pb":
                return ast.literal_eval(literal.rstrip(","))
    raise ImportError(f"{spec.origin}: no serialized_pb literal (an unknown p4runtime layout)")


def build_module(module_name: str) -> types.ModuleType:
    """`module_name` built from its serialized descriptor, as current generated code does."""
    from google.protobuf import descriptor_pool
    from google.protobuf.internal import builder

    module = types.ModuleType(module_name)
    module.__package__ = module_name.rpartition(".")[0]
    module.DESCRIPTOR = descriptor_pool.Default().AddSerializedFile(
        serialized_descriptor(module_name))
    builder.BuildMessageAndEnumDescriptors(module.DESCRIPTOR, module.__dict__)
    builder.BuildTopDescriptorsAndMessages(module.DESCRIPTOR, module_name, module.__dict__)
    return module


def load(module_name: str) -> types.ModuleType:
    """The module, imported as is (protobuf 3) or built and registered in sys.modules."""
    if PROTOBUF_MAJOR < 4 or module_name in sys.modules:
        return importlib.import_module(module_name)
    package = importlib.import_module(module_name.rpartition(".")[0])
    module = build_module(module_name)
    sys.modules[module_name] = module
    setattr(package, module_name.rpartition(".")[2], module)
    return module


p4types_pb2, p4info_pb2, p4data_pb2, p4runtime_pb2 = (load(name) for name in MODULES)


def __getattr__(name: str):
    """`p4runtime_pb2_grpc` on first use: it imports gRPC, which commands that only build
    entities (`p4nic check`, `p4nic entries`) need not wait for."""
    if name == "p4runtime_pb2_grpc":
        return importlib.import_module("p4.v1.p4runtime_pb2_grpc")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# "upb", "cpp" or "python": the protobuf runtime in use (`p4nic bench` reports it)
RUNTIME = api_implementation.Type()
