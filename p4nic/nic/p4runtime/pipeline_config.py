"""Forwarding pipeline configs: verify one (P4Info + BMv2 JSON), and what Get returns.

As in simple_switch_grpc, `p4_device_config` is the BMv2 JSON text as bytes. A config is
"realizable" when the JSON is valid JSON that `Device.load` accepts and the P4Info describes it
(`translate.P4InfoIndex`); anything else is INVALID_ARGUMENT (P4Runtime spec
"SetForwardingPipelineConfig RPC").
"""
import json
from dataclasses import dataclass

from p4.v1 import p4runtime_pb2

from p4nic.nic.p4runtime.errors import invalid
from p4nic.nic.p4runtime.translate import P4InfoIndex

GetRequest = p4runtime_pb2.GetForwardingPipelineConfigRequest


@dataclass
class Pipeline:
    """A verified config: the message as received, its JSON, and the id index built from both."""
    config: p4runtime_pb2.ForwardingPipelineConfig
    bmv2_json: dict
    index: P4InfoIndex


def parse_device_config(data: bytes) -> dict:
    try:
        bmv2_json = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid(f"p4_device_config is not BMv2 JSON: {exc}") from None
    except RecursionError:
        raise invalid("p4_device_config is nested too deeply to be BMv2 JSON") from None
    if not isinstance(bmv2_json, dict):
        raise invalid("p4_device_config is not a BMv2 JSON object")
    return bmv2_json


def verify(config: p4runtime_pb2.ForwardingPipelineConfig, device_factory) -> Pipeline:
    """Check that the device can realize `config`; `device_factory()` makes a scratch Device.

    Loading into a scratch device runs the same checks as the real load without touching
    forwarding state, so VERIFY and VERIFY_AND_SAVE are side-effect free.
    """
    if not config.HasField("p4info"):
        raise invalid("the forwarding pipeline config has no p4info")
    if not config.p4_device_config:
        raise invalid("the forwarding pipeline config has no p4_device_config (BMv2 JSON)")
    bmv2_json = parse_device_config(config.p4_device_config)
    try:
        device_factory().load(bmv2_json)
    except Exception as exc:  # noqa: BLE001 - any load failure means "cannot be realized"
        raise invalid(f"the BMv2 JSON cannot be loaded: {exc}") from None
    index = P4InfoIndex(config.p4info, bmv2_json)
    return Pipeline(config, bmv2_json, index)


def get_response(pipeline: Pipeline | None, response_type) -> p4runtime_pb2.GetForwardingPipelineConfigResponse:
    """GetForwardingPipelineConfig: the fields `response_type` asks for; no config when unset."""
    response = p4runtime_pb2.GetForwardingPipelineConfigResponse()
    if pipeline is None:
        return response
    if response_type not in GetRequest.ResponseType.values():
        raise invalid(f"unknown response_type {response_type}")
    stored = pipeline.config
    out = response.config
    if stored.HasField("cookie"):
        out.cookie.CopyFrom(stored.cookie)
    if response_type in (GetRequest.ALL, GetRequest.P4INFO_AND_COOKIE):
        out.p4info.CopyFrom(stored.p4info)
    if response_type in (GetRequest.ALL, GetRequest.DEVICE_CONFIG_AND_COOKIE):
        out.p4_device_config = stored.p4_device_config
    if not out.ListFields():
        out.SetInParent()
    return response
