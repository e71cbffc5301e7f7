"""The nginx example of docs/operations.md, run as printed in front of the Procfile's gunicorn (TLS on loopback).

Only the addresses change: the upstream servers become the test's gunicorn, `listen 443 ssl` a free loopback port
with a throwaway certificate. The client connects from its own loopback address (127.0.0.3, .4), nginx from
127.0.0.1, which is the one address in FORWARDED_ALLOW_IPS, as the docs put the proxy's.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.api.test_quotes import CONTRACT_EXAMPLE
from tests.ops.test_gunicorn import free_port, procfile_web

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)

# As the browser tests: skipped on a developer machine without nginx, a failure in CI (`CI` set), which installs it.
pytestmark = pytest.mark.skipif(
    NGINX is None and not os.environ.get("CI"), reason="nginx is not installed (.ci/run installs nginx-light)"
)


def documented_server_block() -> str:
    """The ```nginx block of docs/operations.md, as printed."""
    (block,) = re.findall(r"```nginx\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    return block


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for shop.example and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("shop.example")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@contextmanager
def nginx(tmp_path: Path, upstream_port: int) -> Iterator[int]:
    """The documented server block in front of 127.0.0.1:upstream_port; yield nginx's TLS port."""
    assert NGINX is not None, "nginx is needed in CI: .ci/run installs nginx-light"
    port = free_port()
    cert, key = self_signed(tmp_path)
    block = documented_server_block()
    block, upstreams = re.subn(r"server 10\.0\.2\.\d+:8000;", f"server 127.0.0.1:{upstream_port};", block)
    assert upstreams == 2, "the example's two application machines"
    block = block.replace(
        "listen 443 ssl;",
        f"listen 127.0.0.1:{port} ssl;\n    ssl_certificate {cert};\n    ssl_certificate_key {key};",
    )
    assert f"listen 127.0.0.1:{port} ssl;" in block
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for directory in temp.values():
        directory.mkdir()
    config = tmp_path / "nginx.conf"
    config.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\npid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'} warn;\n"
        + "events { worker_connections 64; }\nhttp {\n"
        + f"access_log off;\nclient_body_temp_path {temp['body']};\nproxy_temp_path {temp['proxy']};\n"
        + f"fastcgi_temp_path {temp['fastcgi']};\nuwsgi_temp_path {temp['uwsgi']};\nscgi_temp_path {temp['scgi']};\n"
        + block
        + "}\n"
    )
    process = subprocess.Popen(  # noqa: S603 - the system's nginx with the test's configuration
        [NGINX, "-c", str(config), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # its errors go to error.log
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, (tmp_path / "error.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        yield port
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def post_quote(port: int, key: str, client: str, forwarded_for: str | None = None) -> tuple[int, dict]:
    """A shopper's quote over TLS through nginx, from the loopback address `client` (its X-Forwarded-For forged)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the throwaway certificate
    connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context, source_address=(client, 0))
    headers = {"Host": "shop.example", "Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    try:
        connection.request("POST", "/api/v1/quotes", body=json.dumps(CONTRACT_EXAMPLE), headers=headers)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def test_the_documented_nginx_block_passes_the_client_scheme_and_host(app, database_url, shop, tmp_path):
    key = shop.keys.publishable_key
    access_log = tmp_path / "access.log"
    with (
        procfile_web(
            database_url,
            tmp_path,
            "--access-logfile",
            str(access_log),
            FORWARDED_ALLOW_IPS="127.0.0.1",
            RATE_LIMIT_QUOTES="2/minute",
        ) as upstream,
        nginx(tmp_path, upstream) as port,
    ):
        # The scheme and host the shopper used reach the app: the default terms link is https on the shop's name.
        status, quote = post_quote(port, key, "127.0.0.3")
        assert status == 200, quote
        assert quote["offer"]["terms_url"] == f"https://shop.example/terms/{shop.shop.id}"
        # A forged X-Forwarded-For buys no new rate-limit bucket: nginx appends the real address, the app takes it.
        status, _ = post_quote(port, key, "127.0.0.3", forwarded_for="198.51.100.66")
        assert status == 200
        status, refused = post_quote(port, key, "127.0.0.3", forwarded_for="198.51.100.67")
        assert status == 429 and refused["error"]["code"] == "rate_limited"
        status, _ = post_quote(port, key, "127.0.0.4")  # another shopper behind the same proxy has their own
        assert status == 200
    clients = [
        json.loads(line)["remote_addr"] for line in access_log.read_text().splitlines() if "/api/v1/quotes" in line
    ]
    assert clients == ["127.0.0.3", "127.0.0.3", "127.0.0.3", "127.0.0.4"]
