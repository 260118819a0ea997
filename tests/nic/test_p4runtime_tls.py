"""P4Runtime over TLS and mutual TLS, with simple_switch_grpc's --grpc-server-* flags, on both
gRPC front ends; clients without a certificate, with one from another CA, and with the right one
(ours and p4runtime-shell's). Certificates are made here, per test run, and never stored."""
import datetime
import ipaddress
import subprocess
import sys

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from p4nic.proto import p4runtime_pb2 as pb
from p4nic.proto import p4runtime_pb2_grpc

from p4nic.nic.p4runtime.fronts import FRONT

from p4rt_client import FRONTS, PROGRAMS, SwitchProcess, environment, maps

# P4Runtime server/client behaviour: `make test` runs it under both protobuf runtimes
pytestmark = pytest.mark.p4runtime

# A handshake that is going to fail fails at once; a generous bound for a loaded machine.
CALL_TIMEOUT = 30


def make_certificate(path, name: str, issuer=None, server: bool = False, ca: bool = False):
    """A key and certificate for `name`, signed by `issuer` ((cert, key); None: self-signed),
    written as PEM to path/name.{crt,key}; returns (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_cert, issuer_key = issuer or (None, key)
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer_cert.subject if issuer_cert else subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    (path / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (path / f"{name}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """ca signs server and client; other_ca signs stranger."""
    path = tmp_path_factory.mktemp("pki")
    ca = make_certificate(path, "ca", ca=True)
    make_certificate(path, "server", issuer=ca, server=True)
    make_certificate(path, "client", issuer=ca)
    make_certificate(path, "stranger", issuer=make_certificate(path, "other_ca", ca=True))
    return path


def tls_switch(tmp_path, pki, *flags, front: str | None = None):
    """A switch serving TLS; `front`: the gRPC front end it must serve through (None: as this
    run chooses)."""
    if front is not None:
        FRONT.require()
    switch = SwitchProcess(tmp_path, options=[   # target options, also taken before `--`
        "--grpc-server-ssl", "--grpc-server-cert", str(pki / "server.crt"),
        "--grpc-server-key", str(pki / "server.key"), *flags],
        env=None if front is None else environment(**FRONTS[front]))
    if front is not None:
        assert maps(switch.proc.pid, FRONT.path()) == (front == "native")
    return switch


def capabilities(address: str, pki, client: str | None = None, secure: bool = True):
    """Capabilities over a channel trusting our CA, presenting `client`'s certificate."""
    if not secure:
        channel = grpc.insecure_channel(address)
    else:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=(pki / "ca.crt").read_bytes(),
            private_key=(pki / f"{client}.key").read_bytes() if client else None,
            certificate_chain=(pki / f"{client}.crt").read_bytes() if client else None)
        channel = grpc.secure_channel(address, credentials)
    with channel:
        stub = p4runtime_pb2_grpc.P4RuntimeStub(channel)
        return stub.Capabilities(pb.CapabilitiesRequest(), timeout=CALL_TIMEOUT)


def refused(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code()


@pytest.mark.parametrize("front", FRONTS)
def test_tls_serves_clients_that_trust_the_server(tmp_path, pki, front):
    switch = tls_switch(tmp_path, pki, front=front)
    try:
        assert capabilities(switch.address, pki).p4runtime_api_version
        assert refused(lambda: capabilities(switch.address, pki, secure=False)) == \
            grpc.StatusCode.UNAVAILABLE
    finally:
        assert switch.stop() == 0


@pytest.mark.parametrize("front", FRONTS)
def test_mutual_tls_takes_only_certificates_from_its_ca(tmp_path, pki, front):
    switch = tls_switch(tmp_path, pki, "--grpc-server-with-client-auth",
                        "--grpc-server-cacert", str(pki / "ca.crt"), front=front)
    try:
        assert refused(lambda: capabilities(switch.address, pki)) == grpc.StatusCode.UNAVAILABLE
        assert refused(lambda: capabilities(switch.address, pki, "stranger")) == \
            grpc.StatusCode.UNAVAILABLE
        assert refused(lambda: capabilities(switch.address, pki, secure=False)) == \
            grpc.StatusCode.UNAVAILABLE
        assert capabilities(switch.address, pki, "client").p4runtime_api_version
    finally:
        assert switch.stop() == 0


@pytest.mark.shell
def test_p4runtime_shell_connects_with_a_client_certificate(tmp_path, pki):
    """p4runtime-shell, as its --ssl --cacert --cert --private-key options set it up."""
    import p4runtime_sh.shell as sh
    from p4runtime_sh.p4runtime import SSLOptions
    switch = tls_switch(tmp_path, pki, "--grpc-server-with-client-auth",
                        "--grpc-server-cacert", str(pki / "ca.crt"))
    try:
        sh.setup(device_id=1, grpc_addr=switch.address, election_id=(0, 1), verbose=False,
                 config=sh.FwdPipeConfig(str(PROGRAMS / "p4rt_basic.p4info.txtpb"),
                                         str(PROGRAMS / "p4rt_basic.json")),
                 ssl_options=SSLOptions(False, str(pki / "ca.crt"), str(pki / "client.crt"),
                                        str(pki / "client.key")))
        try:
            entry = sh.TableEntry("MyIngress.fwd")(action="MyIngress.forward")
            entry.match["hdr.ethernet.dstAddr"] = "00:00:00:00:00:01"
            entry.action["port"] = "2"
            entry.insert()
            assert len(list(sh.TableEntry("MyIngress.fwd").read())) == 1
        finally:
            sh.teardown()
    finally:
        assert switch.stop() == 0


@pytest.mark.parametrize("flags, message", [
    (["--grpc-server-ssl", "--grpc-server-key", "k.pem"], "--grpc-server-ssl needs --grpc-server-cert"),
    (["--grpc-server-ssl", "--grpc-server-cert", "c.pem"], "--grpc-server-ssl needs --grpc-server-key"),
    (["--grpc-server-ssl", "--grpc-server-cert", "c.pem", "--grpc-server-key", "k.pem",
      "--grpc-server-with-client-auth"], "--grpc-server-with-client-auth needs --grpc-server-cacert"),
])
def test_incomplete_tls_options_are_usage_errors(flags, message):
    r = subprocess.run([sys.executable, "-m", "p4nic.cli", "switch", "--no-p4", "--", *flags],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_unusable_pem_files_are_start_up_errors(tmp_path, pki):
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    for cert, key, why in [(pki / "server.crt", tmp_path / "missing.key", "cannot read"),
                           (tmp_path / "garbage.pem", pki / "server.key", "not usable PEM"),
                           (pki / "server.crt", pki / "client.key", "not usable PEM")]:
        r = subprocess.run([sys.executable, "-m", "p4nic.cli", "switch", "--no-p4", "--",
                            "--grpc-server-addr", "127.0.0.1:0", "--grpc-server-ssl",
                            "--grpc-server-cert", str(cert), "--grpc-server-key", str(key)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and why in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_pem_files_without_tls_are_ignored_with_a_note(tmp_path, pki):
    switch = SwitchProcess(tmp_path, options=["--grpc-server-cert", str(pki / "server.crt"),
                                              "--grpc-server-with-client-auth"])
    try:
        output = switch.log_path.read_text()
        assert "the provided .pem files are ignored" in output
        assert "it cannot request client auth" in output
        assert capabilities(switch.address, pki, secure=False).p4runtime_api_version
    finally:
        assert switch.stop() == 0
