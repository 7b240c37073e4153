"""Images straight from a registry (OCI distribution spec / Docker registry v2), with no daemon.

A thin client on `requests` (already here through the docker SDK): the manifest (an index or a
manifest list narrowed with `--platform`), the config, and each layer blob as an HTTP body that the
one pass reads as it arrives (no copy to disk). The pass hashes what it reads and reports a blob
whose bytes do not match its digest (an `integrity` finding, exit 2). A dropped download is resumed
with an HTTP Range request, 429 and 5xx answers are retried with backoff, and a redirect to another
host (blob storage) does not carry the Authorization header there.

Authentication: anonymous, Basic, and Bearer tokens (the `WWW-Authenticate` challenge, scoped to
`repository:NAME:pull`, fetched again on a 401). Credentials, first found wins: `--username` with
`--password-stdin`; $EXPLORER_REGISTRY_USERNAME / $EXPLORER_REGISTRY_PASSWORD; the containers
auth.json ($REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
~/.config/containers/auth.json); ~/.docker/config.json ($DOCKER_CONFIG): `credHelpers`, `auths`,
`credsStore` (through the `docker-credential-*` helpers).

TLS is verified against the system store plus `--ca-cert FILE`. Plain HTTP is used only for a
loopback host or one named with `--insecure-registry HOST` (whose certificate is then not checked
either), and only when the server does not speak TLS.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import io
import ipaddress
import json
import os
import re
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlencode, urljoin, urlsplit

from explorer.core.options import RegistryOptions
from explorer.core.errors import SourceError
from explorer.sources.base import ImageSource
from explorer.sources.oci import INDEX_TYPES, blob_name, choose_manifest, open_manifest
from explorer.sources.platforms import host_platform
from explorer.sources.registry_flags import ENV_PASSWORD, ENV_USER

MAX_MANIFEST = 4 * 1024 * 1024
"""Largest manifest or index read (containerd's limit)."""
MAX_CONFIG = 16 * 1024 * 1024
"""Largest image config read."""
MAX_TOKEN = 1024 * 1024
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
RETRIES = 5
"""Attempts at one request answered 429/5xx, and resumed downloads of one blob."""
BACKOFF = 0.25
"""First wait between attempts, in seconds; doubled each time (a Retry-After is honoured up to MAX_WAIT)."""
MAX_WAIT = 10.0
TIMEOUT = (15, 60)
"""Seconds to connect, and to wait for the next bytes."""
MAX_REDIRECTS = 5
CHUNK = 1 << 20
AHEAD = 16 << 20
"""Bytes of one blob downloaded ahead of the pass."""
PARALLEL = 3
"""Blobs downloaded ahead of the one the pass reads, at most (so at most (PARALLEL + 1) * AHEAD bytes
are held). A next download starts when the link is free of the others: each is done, or waits
for the pass (its AHEAD bytes are held): the blob the pass needs first gets the whole link."""

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFEST_TYPES = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
SCHEMA1_TYPES = frozenset({"application/vnd.docker.distribution.manifest.v1+json",
                           "application/vnd.docker.distribution.manifest.v1+prettyjws"})
ACCEPT = ", ".join([OCI_MANIFEST, DOCKER_MANIFEST, *sorted(INDEX_TYPES)])
CONFIG_TYPES = frozenset({"application/vnd.oci.image.config.v1+json",
                          "application/vnd.docker.container.image.v1+json"})
LAYER_TYPES = frozenset({
    "application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
})
FOREIGN = re.compile(r"(foreign|nondistributable)")

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")

_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


# -- references ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    host: str
    """As written (`docker.io` for Docker Hub), with its port."""
    repository: str
    tag: str | None
    digest: str | None

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.host == DOCKER_HUB else self.host

    @property
    def ref(self) -> str:
        """What the manifest is asked for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.host}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """`[HOST[:PORT]/]NAME[:TAG][@sha256:HEX]`, normalised as Docker does (`alpine` is
    `docker.io/library/alpine:latest`)."""
    rest, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise SourceError(f"{text}: invalid digest {digest!r} (expected sha256: and 64 hex digits)")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        host, path = first, remainder
    else:
        host, path = DOCKER_HUB, rest
    tag = None
    name, colon, maybe_tag = path.rpartition(":")
    if colon and "/" not in maybe_tag:
        path, tag = name, maybe_tag
        if not _TAG.match(tag):
            raise SourceError(f"{text}: invalid tag {tag!r}")
    if host == DOCKER_HUB and "/" not in path:
        path = "library/" + path
    if not path or not _NAME.match(path):
        raise SourceError(f"{text}: not a valid image reference (repository name {path!r})")
    if not host or any(c in host for c in "@?#\\ "):
        raise SourceError(f"{text}: not a valid registry host {host!r}")
    if tag is None and digest == "":
        tag = "latest"
    return Reference(host, path, tag, digest or None)


def is_loopback(host: str) -> bool:
    name = urlsplit("//" + host).hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# -- options and credentials ----------------------------------------------------------------------

@dataclass
class Credential:
    username: str
    password: str
    origin: str
    """Where it came from, for the 401 message."""
    identity_token: bool = False


def _home(*parts: str) -> str:
    return os.path.join(os.path.expanduser("~"), *parts)


def _read_json(path: str) -> dict:
    try:
        with open(path, "rb") as fh:
            doc = json.loads(fh.read(MAX_MANIFEST))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _keys(host: str) -> tuple[str, ...]:
    if host in (DOCKER_HUB, DOCKER_HUB_API):
        return DOCKER_HUB_KEYS
    return (host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/")


def _from_auths(auths, host: str, origin: str) -> Credential | None:
    if not isinstance(auths, dict):
        return None
    for key in _keys(host):
        entry = auths.get(key)
        if not isinstance(entry, dict):
            continue
        if entry.get("identitytoken"):
            return Credential("", str(entry["identitytoken"]), origin, identity_token=True)
        user, password = entry.get("username"), entry.get("password")
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(str(entry["auth"])).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
        if user and password is not None:
            return Credential(str(user), str(password), origin)
    return None


def _helper(name: str, host: str, origin: str) -> Credential | None:
    if not re.match(r"^[\w.-]+$", name):
        return None
    for key in _keys(host)[:2] if host not in (DOCKER_HUB, DOCKER_HUB_API) else DOCKER_HUB_KEYS[:1]:
        try:
            run = subprocess.run([f"docker-credential-{name}", "get"], input=key.encode(), capture_output=True,
                                 timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if run.returncode != 0:
            continue
        try:
            doc = json.loads(run.stdout)
        except ValueError:
            continue
        user, secret = str(doc.get("Username") or ""), str(doc.get("Secret") or "")
        if secret:
            if user == "<token>":
                return Credential("", secret, origin, identity_token=True)
            return Credential(user, secret, origin)
    return None


def find_credentials(host: str, options: RegistryOptions) -> tuple[Credential | None, list[str]]:
    """The credential to use for `host` and every place looked at (for the 401 message)."""
    looked = []
    if options.username:
        looked.append("--username")
        if options.password is not None:
            return Credential(options.username, options.password, f"--username {options.username}"), looked
    looked.append(f"${ENV_USER}")
    if os.environ.get(ENV_USER) and os.environ.get(ENV_PASSWORD) is not None:
        return Credential(os.environ[ENV_USER], os.environ[ENV_PASSWORD], f"${ENV_USER}"), looked
    files = [os.environ.get("REGISTRY_AUTH_FILE")]
    if os.environ.get("XDG_RUNTIME_DIR"):
        files.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "containers", "auth.json"))
    files.append(_home(".config", "containers", "auth.json"))
    for path in filter(None, files):
        if os.path.isfile(path):
            looked.append(path)
            cred = _from_auths(_read_json(path).get("auths"), host, path)
            if cred:
                return cred, looked
    docker_config = os.path.join(os.environ.get("DOCKER_CONFIG") or _home(".docker"), "config.json")
    if os.path.isfile(docker_config):
        looked.append(docker_config)
        doc = _read_json(docker_config)
        helpers = doc.get("credHelpers") if isinstance(doc.get("credHelpers"), dict) else {}
        for key in _keys(host):
            if key in helpers:
                cred = _helper(str(helpers[key]), host, f"docker-credential-{helpers[key]}")
                if cred:
                    return cred, looked
        cred = _from_auths(doc.get("auths"), host, docker_config)
        if cred:
            return cred, looked
        if doc.get("credsStore"):
            cred = _helper(str(doc["credsStore"]), host, f"docker-credential-{doc['credsStore']}")
            if cred:
                return cred, looked
    return None, looked


# -- the HTTP client ------------------------------------------------------------------------------

def _challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="…",service="…"` → ("bearer", {realm, service, …})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', rest)}
    params.update({k.lower(): v for k, v in re.findall(r'(\w+)=([^",\s]+)', rest) if k.lower() not in params})
    return scheme.lower(), params


class RegistryClient:
    """One registry host and repository: authenticated, retried, redirect-aware requests."""

    def __init__(self, reference: Reference, options: RegistryOptions):
        self.reference = reference
        self.options = options
        self.host = reference.api_host
        self.insecure = self.host in options.insecure or reference.host in options.insecure
        self.plain_ok = self.insecure or is_loopback(self.host)
        self.scheme: str | None = None
        self.scheme_auth: tuple[str, dict[str, str]] | None = None
        self.token: str | None = None
        self.credential: Credential | None = None
        self.looked: list[str] = []
        self.requests = 0
        self._session = None
        self._lock = threading.Lock()

    # pickled into the layer worker processes: no session, no lock
    def __getstate__(self):
        state = dict(self.__dict__)
        state["_session"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def session(self, netloc: str):
        """The session for `netloc`: the registry host named with --insecure-registry gets one that
        checks no certificate; every other host (blob storage, a token service) one that does."""
        insecure = self.insecure and netloc == self.host
        if self._session is None:
            self._session = {}
        if insecure not in self._session:
            self._session[insecure] = self._new_session(insecure)
        return self._session[insecure]

    def _new_session(self, insecure: bool):
        import requests
        from requests.adapters import HTTPAdapter

        context = ssl.create_default_context()
        if self.options.ca_cert:
            try:
                context.load_verify_locations(self.options.ca_cert)
            except (OSError, ssl.SSLError) as exc:
                raise SourceError(f"--ca-cert {self.options.ca_cert}: not a PEM certificate file ({exc})") \
                    from None
        if insecure:
            import urllib3

            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # asked for: no warning each time

        class Adapter(HTTPAdapter):
            def init_poolmanager(self, *args, **kwargs):
                kwargs["ssl_context"] = context
                return super().init_poolmanager(*args, **kwargs)

            def cert_verify(self, conn, url, verify, cert):
                super().cert_verify(conn, url, verify, cert)
                conn.ca_certs = conn.ca_cert_dir = None  # the context holds the trust store

        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the environment
        session.mount("https://", Adapter())
        session.mount("http://", Adapter())
        session.headers["User-Agent"] = "explorer"
        session.headers["Accept-Encoding"] = "identity"  # the bytes as stored: they are hashed
        session.verify = not insecure
        return session

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}"

    def url(self, kind: str, ref: str) -> str:
        """The path of a manifest or blob (`get` puts the scheme and host in front)."""
        return f"/v2/{self.reference.repository}/{kind}/{ref}"

    def close(self) -> None:
        for session in (self._session or {}).values():
            session.close()
        self._session = None

    # -- errors --------------------------------------------------------------------------------

    def _connection_error(self, exc: Exception, url: str) -> SourceError:
        import requests

        host = urlsplit(url).netloc
        text = str(exc)
        if isinstance(exc, requests.exceptions.SSLError):
            reason = _ssl_reason(text)
            return SourceError(f"{host}: TLS failure ({reason}); give the registry's CA with --ca-cert FILE, or "
                               f"allow it with --insecure-registry {host}")
        if "Name or service not known" in text or "NameResolutionError" in text or "nodename nor servname" in text \
                or "Temporary failure in name resolution" in text or "No address associated" in text:
            return SourceError(f"{host}: unknown registry host (the name does not resolve)")
        if "Connection refused" in text or "ConnectionRefusedError" in text:
            return SourceError(f"{host}: connection refused (no registry listening there)")
        if isinstance(exc, requests.exceptions.Timeout):
            return SourceError(f"{host}: the registry did not answer in time")
        return SourceError(f"{host}: cannot talk to the registry ({type(exc).__name__})")

    # -- requests ------------------------------------------------------------------------------

    def _ping(self) -> None:
        """Choose https or http, and learn the authentication challenge (GET /v2/)."""
        import requests

        schemes = ("https", "http") if self.plain_ok else ("https",)
        for scheme in schemes:
            url = f"{scheme}://{self.host}/v2/"
            try:
                resp = self._send("GET", url, {}, stream=False)
            except requests.exceptions.SSLError as exc:
                if scheme == "https" and self.plain_ok and "CERTIFICATE" not in str(exc).upper():
                    continue  # a plain-HTTP server on loopback or an --insecure-registry host
                raise self._connection_error(exc, url) from None
            except requests.RequestException as exc:
                raise self._connection_error(exc, url) from None
            self.scheme = scheme
            if resp.status_code == 401:
                self.scheme_auth = _challenge(resp.headers.get("WWW-Authenticate", ""))
            resp.close()
            return

    def _authorization(self, refresh: bool) -> str | None:
        if self.scheme_auth is None:
            return None
        scheme, params = self.scheme_auth
        if self.credential is None and not self.looked:
            self.credential, self.looked = find_credentials(self.reference.host, self.options)
        cred = self.credential
        if scheme == "basic":
            if cred is None or cred.identity_token:
                return None
            return "Basic " + base64.b64encode(f"{cred.username}:{cred.password}".encode()).decode()
        if scheme == "bearer":
            if self.token is None or refresh:
                self.token = self._fetch_token(params, cred)
            return f"Bearer {self.token}" if self.token else None
        return None

    def _fetch_token(self, params: dict[str, str], cred: Credential | None) -> str | None:
        import requests

        realm = params.get("realm", "")
        if urlsplit(realm).scheme not in ("https", "http"):
            raise SourceError(f"{self.host}: the registry names no usable token service (realm {realm[:80]!r})")
        if urlsplit(realm).scheme == "http" and not (is_loopback(urlsplit(realm).netloc) or self.insecure):
            raise SourceError(f"{self.host}: the token service {realm[:80]} is plain HTTP; allow it with "
                              f"--insecure-registry {self.host}")
        query = {"scope": f"repository:{self.reference.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        headers = {}
        method = "GET"
        data = None
        if cred is not None and cred.identity_token:
            method, data = "POST", {"grant_type": "refresh_token", "refresh_token": cred.password,
                                    "client_id": "explorer", **query}
        elif cred is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{cred.username}:{cred.password}".encode()).decode()
        url = realm + ("&" if "?" in realm else "?") + urlencode(query) if method == "GET" else realm
        try:
            resp = self.session(urlsplit(realm).netloc).request(method, url, headers=headers, data=data,
                                                                 timeout=TIMEOUT, stream=True, allow_redirects=False)
            self.requests += 1
            body = resp.raw.read(MAX_TOKEN + 1, decode_content=True)
            resp.close()
        except requests.RequestException as exc:
            raise self._connection_error(exc, realm) from None
        if resp.status_code in (401, 403):
            return None
        if resp.status_code != 200 or len(body) > MAX_TOKEN:
            raise SourceError(f"{self.host}: the token service {urlsplit(realm).netloc} answered "
                              f"HTTP {resp.status_code}")
        try:
            doc = json.loads(body)
            return str(doc.get("token") or doc.get("access_token") or "") or None
        except (ValueError, AttributeError):
            raise SourceError(f"{self.host}: the token service answered something that is not a token") from None

    def _send(self, method: str, url: str, headers: dict, stream: bool = True):
        """One request with manual redirects: Authorization goes only to the registry host, and
        plain HTTP only to a host allowed it."""
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme == "http" and not (is_loopback(parts.netloc) or parts.netloc in self.options.insecure
                                               or parts.netloc == self.host and self.plain_ok):
                raise SourceError(f"{self.host}: refusing a redirect to plain HTTP ({parts.netloc})")
            send = dict(headers)
            if parts.netloc != self.host:
                send.pop("Authorization", None)
            resp = self.session(parts.netloc).request(method, url, headers=send, timeout=TIMEOUT, stream=stream,
                                                      allow_redirects=False)
            self.requests += 1
            if resp.status_code in (301, 302, 303, 307, 308) and resp.headers.get("Location"):
                resp.close()
                url = urljoin(url, resp.headers["Location"])
                continue
            return resp
        raise SourceError(f"{self.host}: more than {MAX_REDIRECTS} redirects")

    def get(self, url: str, headers: dict | None = None):
        """GET `url` (a registry URL) authenticated; retried on 429/5xx; a 401 fetches a new token
        once. The response, streaming; errors other than 401/403/404 raise."""
        import requests

        with self._lock:
            if self.scheme is None:
                self._ping()
        url = url if "://" in url else self.base + url
        refreshed = False
        for attempt in range(RETRIES):
            send = dict(headers or {})
            with self._lock:
                auth = self._authorization(refresh=False)
            if auth:
                send["Authorization"] = auth
            try:
                resp = self._send("GET", url, send)
            except requests.RequestException as exc:
                raise self._connection_error(exc, url) from None
            if resp.status_code == 401 and not refreshed:
                refreshed = True
                resp.close()
                with self._lock:
                    self.scheme_auth = _challenge(resp.headers.get("WWW-Authenticate", "")) \
                        if resp.headers.get("WWW-Authenticate") else self.scheme_auth
                    self.token = None
                continue
            if resp.status_code in RETRY_STATUS and attempt + 1 < RETRIES:
                wait = BACKOFF * (2 ** attempt)
                try:
                    wait = max(wait, min(float(resp.headers.get("Retry-After", 0)), MAX_WAIT))
                except ValueError:
                    pass
                resp.close()
                time.sleep(wait)
                continue
            return resp
        return resp

    def fail(self, resp, what: str) -> SourceError:
        """The one-line error for an unsuccessful answer about `what`."""
        status = resp.status_code
        resp.close()
        where = f"{self.reference.host}/{self.reference.repository}"
        if status == 401:
            tried = self.credential.origin if self.credential else "anonymous (no credentials found in " + \
                (", ".join(self.looked) or "the usual places") + ")"
            return SourceError(f"{where}: authentication required for {what} (tried: {tried}); give credentials "
                               f"with --username and --password-stdin, ${ENV_USER}/${ENV_PASSWORD}, or "
                               f"`docker login` / `skopeo login`")
        if status == 403:
            who = self.credential.origin if self.credential else "anonymous"
            return SourceError(f"{where}: access denied to {what} (as {who})")
        if status == 404:
            return SourceError(f"{where}: {what} not found (no such repository, tag or digest)")
        return SourceError(f"{where}: the registry answered HTTP {status} for {what}")

    def read_limited(self, resp, limit: int, what: str) -> bytes:
        import requests
        import urllib3

        try:
            data = resp.raw.read(limit + 1, decode_content=False)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise SourceError(f"{self.reference.host}: reading {what} failed ({type(exc).__name__})") from None
        finally:
            resp.close()
        if len(data) > limit:
            raise SourceError(f"{self.reference}: {what} is larger than {limit} bytes; refused")
        return data


def _ssl_reason(text: str) -> str:
    m = re.search(r"certificate verify failed: ([^(\")]+)", text)
    if m:
        return "certificate verify failed: " + m.group(1).strip()
    m = re.search(r"(hostname [^\"']+ doesn't match[^\"']*|\[SSL[^\]]*\][^(\"']*)", text)
    return m.group(1).strip().rstrip(" (") if m else "handshake failed"


# -- blobs --------------------------------------------------------------------------------------

class BlobStream(io.RawIOBase):
    """A blob's HTTP body, read as it arrives, never past its declared size; a dropped connection
    (or a body cut short) is resumed with a Range request, up to RETRIES times."""

    def __init__(self, client: RegistryClient, digest: str, size: int):
        super().__init__()
        self._client = client
        self._digest = digest
        self._size = size
        self._pos = 0
        self._resp = None
        self.resumes = 0

    def readable(self) -> bool:
        return True

    def _connect(self) -> None:
        headers = {"Range": f"bytes={self._pos}-"} if self._pos else {}
        try:
            resp = self._client.get(self._client.url("blobs", self._digest), headers)
        except SourceError as exc:  # the connection again: retried as a dropped one is
            raise ConnectionError(str(exc)) from None
        if resp.status_code == 206 and self._pos:
            start = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
            if not start or int(start.group(1)) != self._pos:
                resp.close()
                raise OSError(f"blob {self._digest}: the registry resumed at the wrong offset")
        elif resp.status_code == 200:
            skip = self._pos  # the server ignored Range: skip what was read already
            while skip:
                data = resp.raw.read(min(skip, CHUNK), decode_content=False)
                if not data:
                    resp.close()
                    raise ConnectionError("body ended while skipping to the resume offset")
                skip -= len(data)
        else:
            error = self._client.fail(resp, f"blob {self._digest}")
            raise OSError(str(error))
        self._resp = resp

    def readinto(self, buffer) -> int:
        import requests
        import urllib3

        left = self._size - self._pos
        if left <= 0:
            return 0
        view = memoryview(buffer)
        while True:
            try:
                if self._resp is None:
                    self._connect()
                data = self._resp.raw.read(min(len(view), left), decode_content=False)
                if not data:
                    raise ConnectionError(f"body ended at byte {self._pos} of {self._size}")
            except (requests.RequestException, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
                self._drop()
                self.resumes += 1
                if self.resumes >= RETRIES:
                    raise OSError(f"blob {self._digest}: download failed at byte {self._pos} of {self._size} "
                                  f"after {self.resumes} attempts ({exc})") from None
                time.sleep(BACKOFF * (2 ** (self.resumes - 1)))
                continue
            n = len(data)
            view[:n] = data
            self._pos += n
            return n

    def tell_received(self) -> int:
        return self._pos

    def _drop(self) -> None:
        if self._resp is not None:
            try:
                self._resp.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close
                pass
            self._resp = None

    def close(self) -> None:
        self._drop()
        super().close()


class ReadAhead(io.RawIOBase):
    """A blob stream read by a thread of its own, up to AHEAD bytes in front of the reader: the
    download goes on while the pass decompresses and scans (else the link idles meanwhile).
    `idle()` is called from that thread whenever the link is free of this blob: the download is
    over, or waits for the reader."""

    def __init__(self, stream: BlobStream, ahead: int = AHEAD, idle: Callable[[], None] | None = None):
        super().__init__()
        self._stream = stream
        self._ahead = ahead
        self._idle = idle
        self._chunks: collections.deque[bytes] = collections.deque()
        self._held = 0
        self._done = self._stop = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="explorer-blob", daemon=True)
        self._thread.start()

    @property
    def received(self) -> int:
        """Bytes of the blob downloaded so far."""
        return self._stream.tell_received()

    @property
    def idle(self) -> bool:
        """The link is free of this blob: its download is over, or waits for the reader."""
        return self._done or self._held >= self._ahead

    def _run(self) -> None:
        buf = bytearray(CHUNK)
        try:
            while True:
                with self._cond:
                    full = self._held >= self._ahead and not self._stop
                if full and self._idle is not None:
                    self._idle()
                with self._cond:
                    while self._held >= self._ahead and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        return
                n = self._stream.readinto(buf)
                if not n:
                    return
                with self._cond:
                    self._chunks.append(bytes(buf[:n]))
                    self._held += n
                    self._cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()
            if self._idle is not None:
                self._idle()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)
        with self._cond:
            while not self._chunks and not self._done:
                self._cond.wait()
            if not self._chunks:
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                return 0
            chunk = self._chunks[0]
            n = min(len(view), len(chunk))
            view[:n] = chunk[:n]
            if n < len(chunk):
                self._chunks[0] = chunk[n:]
            else:
                self._chunks.popleft()
            self._held -= n
            self._cond.notify_all()
            return n

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._chunks.clear()
            self._cond.notify_all()
        if self._done:
            self._stream.close()
        else:  # the thread may sit in a socket read: it closes the stream when it ends
            threading.Thread(target=lambda: (self._thread.join(), self._stream.close()), daemon=True).start()
        super().close()


class RegistryBlobStore:
    """Blob names (`blobs/sha256/HEX`) of one repository: documents already fetched come from
    memory, the rest from the registry as streams read ahead by a thread. Content-addressed: a
    name is its digest. Told which blobs will be read (`will_read`), it starts downloading the
    first at once and the next ones whenever the link is free (up to PARALLEL ahead of the pass),
    so that the link works while the scan starts up and never waits for the pass; `received()`
    says how far each has come."""

    content_addressed = True

    def __init__(self, client: RegistryClient):
        self.client = client
        self.description = str(client.reference)
        self.documents: dict[str, bytes] = {}
        self.sizes: dict[str, int] = {}
        self._plan: list[str] = []
        self._started: dict[str, ReadAhead] = {}
        self._seen: dict[str, ReadAhead] = {}
        self._pid = os.getpid()
        self._lock = threading.RLock()

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_plan"], state["_started"], state["_seen"], state["_lock"] = [], {}, {}, None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def will_read(self, names: list[str]) -> None:
        """The blobs this process will read, in order (no others are fetched ahead); the first
        downloads start now."""
        with self._lock:
            self._plan = [n for n in names if n in self.sizes and n not in self.documents]
        self._next()

    def _next(self) -> None:
        """Start the next planned download, if fewer than PARALLEL are started and not yet opened,
        and every one of them has the link free (done, or waiting for the pass)."""
        if os.getpid() != self._pid:
            return
        with self._lock:
            if len(self._started) >= PARALLEL or not all(s.idle for s in self._started.values()):
                return
            for nxt in self._plan:
                if nxt not in self._started:
                    self._started[nxt] = self._stream(nxt)
                    return

    def received(self) -> dict[str, tuple[int, int]]:
        """Blob name → (bytes received, size), for each blob whose download has started."""
        return {name: (stream.received, self.sizes[name]) for name, stream in list(self._seen.items())}

    def _stream(self, name: str) -> ReadAhead:
        with self._lock:
            started = self._started.pop(name, None)
            if started is not None:
                return started
            digest = "sha256:" + name.rsplit("/", 1)[-1]
            self._seen[name] = stream = ReadAhead(BlobStream(self.client, digest, self.sizes[name]),
                                                  idle=self._next)
            return stream

    def exists(self, name: str) -> bool:
        return name in self.documents or name in self.sizes

    def size(self, name: str) -> int:
        if name in self.documents:
            return len(self.documents[name])
        return self.sizes[name]

    def open(self, name: str):
        if name in self.documents:
            return io.BytesIO(self.documents[name])
        if name not in self.sizes:
            raise SourceError(f"{self.description}: blob {name!r} is not in the manifest")
        with self._lock:
            stream = self._stream(name)
            if name in self._plan:  # a later open (a preview) fetches nothing ahead
                self._plan = self._plan[self._plan.index(name) + 1:]
        if stream.idle:
            self._next()
        return io.BufferedReader(stream, CHUNK)

    def close(self) -> None:
        with self._lock:
            self._plan = []
            started = list(self._started.values())
            self._started.clear()
        for stream in started:
            stream.close()
        self.client.close()


# -- opening an image ---------------------------------------------------------------------------

def _media_type(doc: dict, resp) -> str:
    media = doc.get("mediaType") if isinstance(doc.get("mediaType"), str) else ""
    if not media:
        media = resp.headers.get("Content-Type", "").split(";")[0].strip()
    if not media and isinstance(doc.get("manifests"), list):
        media = "application/vnd.oci.image.index.v1+json"
    if not media and doc.get("schemaVersion") == 2 and isinstance(doc.get("config"), dict):
        media = OCI_MANIFEST
    return media


def _fetch_manifest(client: RegistryClient, ref: str, expected: str | None) -> tuple[dict, bytes, str]:
    """(document, raw bytes, digest) of the manifest named by tag or digest; a digest is checked."""
    what = f"manifest {ref}" if ref.startswith("sha256:") else f"tag {ref!r}"
    for attempt in range(RETRIES):
        resp = client.get(client.url("manifests", ref), {"Accept": ACCEPT})
        if resp.status_code != 200:
            raise client.fail(resp, what)
        length = resp.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_MANIFEST:
            resp.close()
            raise SourceError(f"{client.reference}: manifest is larger than {MAX_MANIFEST} bytes; refused")
        try:
            raw = client.read_limited(resp, MAX_MANIFEST, "manifest")
        except SourceError:
            if attempt + 1 == RETRIES:
                raise
            continue
        if not length.isdigit() or len(raw) == int(length) or attempt + 1 == RETRIES:
            break  # else the connection dropped before the end: again
    actual = "sha256:" + hashlib.sha256(raw).hexdigest()
    if expected and actual != expected:
        raise SourceError(f"{client.reference}: the registry's manifest has digest {actual}, not {expected} "
                          "(tampered or damaged)")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise SourceError(f"{client.reference}: the manifest is not valid JSON") from None
    if not isinstance(doc, dict):
        raise SourceError(f"{client.reference}: the manifest is not a JSON object")
    media = _media_type(doc, resp)
    if media in SCHEMA1_TYPES or doc.get("schemaVersion") == 1:
        raise SourceError(f"{client.reference}: Docker schema 1 manifest, not supported (deprecated since 2017; "
                          "push the image again with a current client)")
    if media not in MANIFEST_TYPES and media not in INDEX_TYPES:
        raise SourceError(f"{client.reference}: unknown manifest media type {media[:100]!r}")
    return doc, raw, actual


def _register(store: RegistryBlobStore, manifest: dict) -> None:
    """Check the manifest's config and layers and let the store serve them."""
    config = manifest.get("config")
    if not isinstance(config, dict):
        raise SourceError(f"{store.description}: manifest has no config")
    ctype = str(config.get("mediaType", ""))
    if ctype not in CONFIG_TYPES:
        raise SourceError(f"{store.description}: not a container image (config media type {ctype[:100]!r})")
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise SourceError(f"{store.description}: manifest has no layers list")
    for desc in [config, *layers]:
        if not isinstance(desc, dict):
            raise SourceError(f"{store.description}: manifest lists a layer that is not an object")
        media = str(desc.get("mediaType", ""))
        if FOREIGN.search(media):
            raise SourceError(f"{store.description}: layer {str(desc.get('digest'))[:80]} is a foreign "
                              f"(non-distributable) layer ({media}); its bytes are not in the registry")
        if desc is not config and media not in LAYER_TYPES:
            raise SourceError(f"{store.description}: layer {str(desc.get('digest'))[:80]} has unknown media "
                              f"type {media[:100]!r}")
        digest = str(desc.get("digest", ""))
        if not _DIGEST.match(digest):
            raise SourceError(f"{store.description}: manifest names an unsupported digest {digest[:80]!r}")
        size = desc.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise SourceError(f"{store.description}: manifest entry {digest[:80]} has an invalid size")
        if desc is config and size > MAX_CONFIG:
            raise SourceError(f"{store.description}: image config is larger than {MAX_CONFIG} bytes; refused")
        store.sizes[blob_name(digest, store.description)] = size


def _load_config(store: RegistryBlobStore, config: dict) -> None:
    """Fetch the config into memory (it is small), verified against its digest."""
    name = blob_name(config["digest"], store.description)
    try:
        with store.open(name) as fh:
            raw = fh.read(config["size"] + 1)
    except OSError as exc:
        raise SourceError(f"{store.description}: cannot read the image config: {exc}") from None
    if "sha256:" + hashlib.sha256(raw).hexdigest() != config["digest"]:
        raise SourceError(f"{store.description}: the config blob does not match its digest {config['digest']} "
                          "(tampered or damaged)")
    store.documents[name] = raw


def open_registry(text: str, platform: str | None = None, options: RegistryOptions | None = None,
                  reference: str | None = None) -> ImageSource:
    """Open `text` (a reference: HOST/NAME:TAG or NAME@sha256:…) from its registry."""
    ref = parse_reference(text)
    client = RegistryClient(ref, options or RegistryOptions())
    store = RegistryBlobStore(client)
    try:
        doc, raw, digest = _fetch_manifest(client, ref.ref, ref.digest)
        documents = {}
        if isinstance(doc.get("manifests"), list):
            documents["index"] = raw
            desc = _choose(_IndexStore(client), doc, platform)
            digest = str(desc.get("digest", ""))
            if not _DIGEST.match(digest):
                raise SourceError(f"{store.description}: the index names an unsupported digest {digest[:80]!r}")
            doc, raw, _ = _fetch_manifest(client, digest, digest)
            if isinstance(doc.get("manifests"), list):
                raise SourceError(f"{store.description}: the index points at another index for {digest}")
        _register(store, doc)
        _load_config(store, doc["config"])
        name = blob_name(digest, store.description)
        store.documents[name] = raw
        source = open_manifest(store, {"digest": digest}, reference or text, "registry")
    except BaseException:
        client.close()
        raise
    source.documents.update(documents)
    return source


def _choose(index_store: "_IndexStore", index: dict, platform: str | None) -> dict:
    """The image of `index` for `platform`, by default this machine's (as docker and skopeo pull);
    with no --platform, a lone image that names no platform is taken too (as containerd does)."""
    if platform:
        return choose_manifest(index_store, index, None, platform)
    host = host_platform()
    try:
        return choose_manifest(index_store, index, None, host)
    except SourceError as exc:
        try:
            only = choose_manifest(index_store, index, None, None)
        except SourceError:
            only = None
        if only is not None and not only.get("platform"):
            return only
        raise SourceError(f"{exc} — the default is this machine's platform; choose another with --platform "
                          "OS/ARCH") from None


class _IndexStore:
    """Nested indexes of a manifest list, fetched as manifests (for `oci.choose_manifest`)."""

    def __init__(self, client: RegistryClient):
        self.client = client
        self.description = str(client.reference)
        self._docs: dict[str, bytes] = {}

    def _doc(self, name: str) -> bytes:
        if name not in self._docs:
            digest = "sha256:" + name.rsplit("/", 1)[-1]
            self._docs[name] = _fetch_manifest(self.client, digest, digest)[1]
        return self._docs[name]

    def exists(self, name: str) -> bool:
        return bool(self._doc(name))

    def size(self, name: str) -> int:
        return len(self._doc(name))

    def open(self, name: str):
        return io.BytesIO(self._doc(name))

    def close(self) -> None:
        pass
