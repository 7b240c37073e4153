"""Real registries on loopback for the registry-source tests.

- `start_registry(folder, ...)`: Debian's `docker-registry` (the CNCF distribution registry) on a
  free loopback port, with a config file written here (JSON, which its YAML parser reads), storage
  in `folder`; optionally TLS (a CA and a certificate made here), htpasswd Basic auth, or token auth.
- `make_tls(folder)`: a CA and a server certificate for 127.0.0.1 and localhost (`cryptography`).
- `TokenServer`: a small token service signing ES256 JWTs with a key made here, as the registry's
  `auth.token` configuration expects (the certificate goes in the token's `x5c` header and in the
  registry's `rootcertbundle`).
- `FaultProxy`: an HTTP proxy on loopback in front of a registry that counts requests and, when
  asked, drops a blob mid-body, answers 429/503, corrupts blob bytes, redirects blob GETs to a
  second loopback host (a `BlobHost` that serves the registry's stored blobs) or serves a given
  manifest body instead of the registry's.
- `push(src, dest, *options)`: `skopeo copy` into a registry.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import http.server
import json
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Registry:
    process: subprocess.Popen
    port: int
    root: Path
    log: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def blob_path(self, digest: str) -> Path:
        hexa = digest.split(":", 1)[1]
        return self.root / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256" / hexa[:2] / hexa / "data"


def start_registry(folder: Path, *, tls: "Tls | None" = None, htpasswd: Path | None = None,
                   token: dict | None = None) -> Registry:
    folder.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        port = free_port()
        config = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(folder / "data")}, "delete": {"enabled": True}},
            "http": {"addr": f"127.0.0.1:{port}", "secret": "explorer-tests"},
        }
        if tls is not None:
            config["http"]["tls"] = {"certificate": str(tls.cert), "key": str(tls.key)}
        if htpasswd is not None:
            config["auth"] = {"htpasswd": {"realm": "explorer-tests", "path": str(htpasswd)}}
        if token is not None:
            config["auth"] = {"token": token}
        path = folder / "config.yml"
        path.write_text(json.dumps(config))
        log = folder / "registry.log"
        # its own small environment: a session fixture may first start inside a test whose monkeypatched
        # environment is huge (E2BIG: "Argument list too long: 'docker-registry'", seen under -n 2)
        process = subprocess.Popen(["docker-registry", "serve", str(path)], stdout=open(log, "ab"),
                                   stderr=subprocess.STDOUT, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OTEL_TRACES_EXPORTER": "none"})
        registry = Registry(process, port, folder, log)
        for _ in range(200):
            if process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return registry
            except OSError:
                time.sleep(0.05)
        registry.stop()
    raise RuntimeError(f"docker-registry did not start: {log.read_text()[-2000:]}")


# -- TLS and credentials ----------------------------------------------------------------------

@dataclass
class Tls:
    ca: Path
    cert: Path
    key: Path
    folder: Path
    """A folder with ca.crt, as skopeo's --dest-cert-dir wants it."""


def _name(text: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _pem(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificate(subject: str, key, issuer_name, issuer_key, *, ca: bool, sans=()):
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        names = [x509.IPAddress(ipaddress.ip_address(s)) if s[0].isdigit() else x509.DNSName(s) for s in sans]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def make_tls(folder: Path) -> Tls:
    from cryptography.hazmat.primitives.asymmetric import ec

    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("explorer test CA", ca_key, _name("explorer test CA"), ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate("127.0.0.1", key, ca.subject, ca_key, ca=False, sans=("127.0.0.1", "localhost"))
    (folder / "certs.d").mkdir()
    (folder / "certs.d" / "ca.crt").write_bytes(_pem(ca))
    (folder / "server.crt").write_bytes(_pem(cert))
    (folder / "server.key").write_bytes(_key_pem(key))
    return Tls(folder / "certs.d" / "ca.crt", folder / "server.crt", folder / "server.key", folder / "certs.d")


def htpasswd(path: Path, users: dict[str, str]) -> Path:
    """An htpasswd file with bcrypt hashes (the `bcrypt` package; the registry accepts only bcrypt)."""
    import bcrypt

    path.write_text("".join(f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=5)).decode()}\n"
                            for u, p in users.items()))
    return path


# -- a token service --------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _Quiet(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # dropped connections are part of the tests
        pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    """TCP_NODELAY, as Go's net/http (the distribution registry) sets it: else the body written after the
    headers waits for the client's delayed ACK, 40 ms per answer on a kept-alive connection (each proxied
    manifest, token or config GET took 45-48 ms, 5 ms with it)."""

    def log_message(self, *args):
        pass


class _Served:
    """A threaded HTTP server on a free loopback port."""

    def _serve(self, handler, host: str = "127.0.0.1") -> None:
        self.httpd = _Quiet((host, 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class TokenServer(_Served):
    """Issues registry tokens to users who give the right Basic credentials. `spoil_next` makes
    the next token grant nothing (the registry then answers 401: the client must fetch another)."""

    def __init__(self, folder: Path, users: dict[str, str], issuer: str = "explorer-test-issuer",
                 service: str = "explorer-test-registry"):
        from cryptography.hazmat.primitives.asymmetric import ec

        folder.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate("explorer token signer", self.key, _name("explorer token signer"), self.key, ca=True)
        from cryptography.hazmat.primitives import serialization
        self.cert_der = cert.public_bytes(serialization.Encoding.DER)
        self.bundle = folder / "token-signer.crt"
        self.bundle.write_bytes(_pem(cert))
        self.users, self.issuer, self.service = users, issuer, service
        self.refresh_tokens: dict[str, str] = {}
        """Identity tokens (OAuth2 refresh tokens) → the user they stand for."""
        self.requests: list[dict] = []
        self.spoil_next = 0
        server = self

        class Handler(_Handler):
            def do_GET(self):
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                auth = self.headers.get("Authorization", "")
                user = None
                if auth.startswith("Basic "):
                    name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    if server.users.get(name) == password:
                        user = name
                server.requests.append({"query": query, "user": user, "auth": bool(auth)})
                self.grant(user, query, "token")

            def do_POST(self):
                """The OAuth2 form: an identity (refresh) token from `docker login` for a token."""
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                user = server.refresh_tokens.get(form.get("refresh_token", "")) \
                    if form.get("grant_type") == "refresh_token" else None
                server.requests.append({"query": form, "user": user, "auth": False, "method": "POST"})
                self.grant(user, form, "access_token")

            def grant(self, user, query: dict, field: str) -> None:
                if user is None:
                    return server_answer(self, 401, b"")
                server_answer(self, 200, json.dumps({field: server.token(user, query.get("scope", ""))}).encode())

        def server_answer(handler, status: int, body: bytes) -> None:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        self._serve(Handler)

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/token"

    def registry_config(self) -> dict:
        return {"realm": self.realm, "service": self.service, "issuer": self.issuer,
                "rootcertbundle": str(self.bundle)}

    def token(self, user: str, scopes: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        access = []
        for scope in scopes.split():
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        if self.spoil_next:
            self.spoil_next -= 1
            access = []
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {"iss": self.issuer, "sub": user, "aud": self.service, "exp": now + 600, "nbf": now - 60,
                  "iat": now, "jti": os.urandom(8).hex(), "access": access}
        signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(self.key.sign(signing.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


# -- a fault-injecting proxy --------------------------------------------------------------------

@dataclass
class Seen:
    method: str
    path: str
    status: int
    sent: int
    """Body bytes sent to the client."""
    range: str | None
    authorization: bool


@dataclass
class Faults:
    statuses: list[int] = field(default_factory=list)
    """Answer the next requests with these statuses (one each), then forward."""
    drop_blob: int = 0
    """Blob GETs (with no Range) to cut after half of their body."""
    corrupt_blob: dict[str, int] = field(default_factory=dict)
    """Blob digest → offset of the one byte changed in what is served."""
    redirect_blobs: str | None = None
    """Base URL of a BlobHost to send blob GETs to (307)."""
    manifest_status: int | None = None
    """Answer every manifest request with this status."""
    manifest_body: bytes | None = None
    manifest_type: str = "application/vnd.docker.distribution.manifest.v2+json"
    rate: float = 0
    """Bytes a second of the link all answers share (0: no limit): bench/bench_registry.py."""


LINK_BURST = 0.05
"""Seconds of the link's capacity a late sender may use at once (FaultProxy's rate limit)."""


class FaultProxy(_Served):
    def __init__(self, upstream_port: int):
        self.upstream = upstream_port
        self.faults = Faults()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._link_free = 0.0
        proxy = self

        class Handler(_Handler):
            def do_HEAD(self):
                self.do_GET(head=True)

            def do_GET(self, head: bool = False):
                proxy.handle(self, head)

        self._serve(Handler)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def blob_gets(self, digests=None) -> list[Seen]:
        return [s for s in self.seen if s.method == "GET" and "/blobs/" in s.path
                and (digests is None or s.path.rsplit("/", 1)[-1] in digests)]

    def _record(self, req, status: int, sent: int = 0) -> Seen:
        """Note a request before its answer goes out (a client may be done before the handler is)."""
        seen = Seen(req.command, req.path, status, sent, req.headers.get("Range"),
                    bool(req.headers.get("Authorization")))
        with self._lock:
            self.seen.append(seen)
        return seen

    def _throttle(self, n: int) -> None:
        """Wait for `n` bytes' turn on the shared link of `faults.rate` bytes a second: a token
        bucket of LINK_BURST seconds (as `tc tbf` has), so a sender that woke late from its sleep
        (a busy machine) catches up that much instead of the link's time being lost."""
        if not self.faults.rate:
            return
        with self._lock:
            now = time.monotonic()
            end = self._link_free = max(now - LINK_BURST, self._link_free) + n / self.faults.rate
        time.sleep(max(0.0, end - now))

    def _answer(self, req, status: int, headers: dict, body: bytes = b"", head: bool = False) -> None:
        self._record(req, status, 0 if head else len(body))
        req.send_response(status)
        for k, v in {**headers, "Content-Length": str(len(body))}.items():
            req.send_header(k, v)
        req.end_headers()
        if not head:
            req.wfile.write(body)

    def handle(self, req, head: bool) -> None:
        faults = self.faults
        with self._lock:
            status = faults.statuses.pop(0) if faults.statuses else None
        is_blob = "/blobs/sha256:" in req.path
        if status is not None:
            return self._answer(req, status, {"Retry-After": "0"})
        if is_blob and faults.redirect_blobs and req.command == "GET":
            location = faults.redirect_blobs + "/storage/" + req.path.rsplit("/", 1)[-1]
            return self._answer(req, 307, {"Location": location})
        if "/manifests/" in req.path and faults.manifest_status is not None:
            return self._answer(req, faults.manifest_status, {})
        if "/manifests/" in req.path and faults.manifest_body is not None:
            return self._answer(req, 200, {"Content-Type": faults.manifest_type}, faults.manifest_body, head)
        self._forward(req, head, is_blob)

    def _forward(self, req, head: bool, is_blob: bool) -> None:
        faults = self.faults
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=30)
        headers = {k: v for k, v in req.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(req.command, req.path, headers=headers)
        resp = conn.getresponse()
        digest = req.path.rsplit("/", 1)[-1]
        cut = None
        with self._lock:
            if is_blob and resp.status == 200 and faults.drop_blob and not req.headers.get("Range"):
                faults.drop_blob -= 1
                cut = int(resp.getheader("Content-Length", "0")) // 2
        seen = self._record(req, resp.status)
        req.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "date", "server"):
                req.send_header(k, v)
        if cut is not None:
            req.send_header("Connection", "close")
        req.end_headers()
        offset = 0
        while not head:
            chunk = resp.read(64 * 1024)
            if not chunk:
                break
            at = faults.corrupt_blob.get(digest) if is_blob else None
            if at is not None and offset <= at < offset + len(chunk):
                chunk = bytearray(chunk)
                chunk[at - offset] ^= 0xFF
                chunk = bytes(chunk)
            offset += len(chunk)
            if cut is not None and seen.sent + len(chunk) >= cut:
                chunk = chunk[:cut - seen.sent]
            self._throttle(len(chunk))
            seen.sent += len(chunk)  # counted before the client can have it
            req.wfile.write(chunk)
            if cut is not None and seen.sent >= cut:
                req.wfile.flush()
                req.connection.shutdown(socket.SHUT_RDWR)
                req.close_connection = True
                break
        conn.close()


class BlobHost(_Served):
    """A second loopback host standing for blob storage: serves a registry's stored blobs by digest
    (GET /storage/sha256:…) and records whether a request carried an Authorization header."""

    def __init__(self, registry: Registry):
        self.seen: list[Seen] = []
        host = self

        class Handler(_Handler):
            def do_GET(self):
                path = registry.blob_path(self.path.rsplit("/", 1)[-1])
                data = path.read_bytes() if path.is_file() else None
                start = 0
                rng = self.headers.get("Range")
                if data is not None and rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                body = (data or b"")[start:]
                host.seen.append(Seen("GET", self.path, 200, len(body), rng,
                                      bool(self.headers.get("Authorization"))))
                self.send_response(404 if data is None else 206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._serve(Handler, "localhost")

    @property
    def base(self) -> str:
        return f"http://localhost:{self.httpd.server_address[1]}"


# -- pushing ----------------------------------------------------------------------------------

def push(src: str, dest: str, *options: str) -> None:
    """`skopeo copy SRC docker://DEST` (plain HTTP unless options say otherwise)."""
    args = ["skopeo", "copy", "--quiet", *options]
    if not any(o.startswith("--dest-cert-dir") for o in options):
        args.append("--dest-tls-verify=false")
    run = subprocess.run([*args, src, f"docker://{dest}"], capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        raise RuntimeError(f"skopeo copy {src} {dest} failed: {run.stderr[-2000:]}")


def manifest_digest(registry_host: str, repo_tag: str, *options: str) -> str:
    """The digest of a pushed manifest (`skopeo inspect --raw`, hashed)."""
    run = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", *options,
                          f"docker://{registry_host}/{repo_tag}"], capture_output=True, timeout=60)
    if run.returncode != 0:
        raise RuntimeError(run.stderr.decode()[-2000:])
    return "sha256:" + hashlib.sha256(run.stdout).hexdigest()
