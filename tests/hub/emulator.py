"""A small Hugging Face Hub on 127.0.0.1, for driving the real ``huggingface_hub`` client in tests.

It serves, from repositories held in memory, the endpoints the client calls:

- ``GET /api/models/{repo}[/revision/{revision}]``: model info (commit ``sha``, ``siblings``; sizes, git
  blob ids and LFS oids with ``?blobs=true``);
- ``HEAD``/``GET /{repo}/resolve/{revision}/{path}``: a file kept in git is answered directly with its git
  blob id as ``ETag``; an LFS file is a ``302`` to a second origin (the "CDN", another port, so the
  client neither follows the redirect with its token nor reads metadata from it) carrying
  ``X-Linked-Etag`` (its sha256) and ``X-Linked-Size``. Every answer carries ``X-Repo-Commit``;
- ``HEAD``/``GET /cdn/{sha256}`` on the CDN origin, with ``Range`` requests (``206``);
- errors as the Hub sends them: ``401`` with ``X-Error-Code: GatedRepo`` for a gated repository without
  the right token, ``404`` with ``RepoNotFound``, ``RevisionNotFound`` or ``EntryNotFound``.

Every request is logged (``log``), so tests count downloads. ``throttle`` slows one file's transfer so a
test can kill a client mid-download; ``gates`` holds a file's transfers until the test sets the event
(``pause_after`` holds them after that many bytes);
``faults`` makes the next transfers of a file ``short`` (fewer bytes than announced) or ``corrupt``
(same length, one byte changed).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

LFS_SUFFIXES = (".onnx", ".onnx_data", ".bin", ".pt", ".pt2", ".torchscript", ".engine", ".safetensors")
TOKEN = "hf_emulator_token"
_CHUNK = 64 * 1024


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@attrs.define
class Logged:
    """One request as the emulator saw it: which origin, method, repository path, status, bytes sent, and
    when (``time.monotonic``) its answer started and finished."""

    origin: str
    method: str
    repo_id: str
    path: str
    status: int
    bytes_sent: int = 0
    range: str | None = None
    started: float = attrs.Factory(time.monotonic)
    finished: float | None = None


@attrs.define
class Repo:
    commits: dict[str, dict[str, bytes]] = attrs.Factory(dict)
    refs: dict[str, str] = attrs.Factory(dict)
    gated: bool = False
    private: bool = False
    lfs: set[str] = attrs.Factory(set)


class HubEmulator:
    """Start with ``HubEmulator()``; ``endpoint`` is the value for ``HF_ENDPOINT``; ``close()`` stops it."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.log: list[Logged] = []
        self.throttle: dict[str, tuple[int, float]] = {}
        self.gates: dict[str, threading.Event] = {}
        self.pause_after: dict[str, tuple[int, threading.Event]] = {}
        self.faults: dict[str, list[str]] = defaultdict(list)
        self._blobs: dict[str, bytes] = {}
        self._blob_paths: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._commits = 0
        self._hub = self._serve("hub")
        self._cdn = self._serve("cdn")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    def publish(
        self,
        repo_id: str,
        files: dict[str, bytes],
        *,
        branch: str = "main",
        gated: bool = False,
        private: bool = False,
        lfs: tuple[str, ...] = LFS_SUFFIXES,
    ) -> str:
        """Commit ``files`` (the whole tree) to ``branch`` of ``repo_id``; returns the new commit's sha."""
        repo = self.repos.setdefault(repo_id, Repo(gated=gated, private=private))
        with self._lock:
            self._commits += 1
            listing = sorted((path, git_blob_sha1(data)) for path, data in files.items())
            commit = hashlib.sha1(json.dumps([self._commits, repo_id, listing]).encode()).hexdigest()
            repo.commits[commit] = dict(files)
            repo.refs[branch] = commit
            for path, data in files.items():
                if path.endswith(lfs):
                    repo.lfs.add(path)
                    sha256 = hashlib.sha256(data).hexdigest()
                    self._blobs[sha256] = data
                    self._blob_paths[sha256] = (repo_id, path)
        return commit

    def downloads(self, path: str | None = None, repo_id: str | None = None) -> list[Logged]:
        """The content transfers (GETs of files, not HEADs or API calls), of one path if given."""
        return [
            entry
            for entry in self.log
            if entry.method == "GET"
            and entry.path
            and entry.status in (200, 206)
            and (path is None or entry.path == path)
            and (repo_id is None or entry.repo_id == repo_id)
        ]

    def bytes_sent(self, path: str) -> int:
        return sum(entry.bytes_sent for entry in self.downloads(path))

    def close(self) -> None:
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()

    # ------------------------------------------------------------------------------------ serving

    def _serve(self, origin: str) -> ThreadingHTTPServer:
        emulator = self

        class Handler(_Handler):
            pass

        Handler.emulator = emulator
        Handler.origin = origin
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True, name=f"hub-emulator-{origin}").start()
        return server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator: HubEmulator
    origin: str

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the emulator keeps its own log
        pass

    def do_HEAD(self) -> None:
        self._route(send_body=False)

    def do_GET(self) -> None:
        self._route(send_body=True)

    def _route(self, send_body: bool) -> None:
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        try:
            if self.origin == "cdn" and len(parts) == 2 and parts[0] == "cdn":
                self._cdn_file(parts[1], send_body)
            elif self.origin == "hub" and parts[:2] == ["api", "models"] and len(parts) >= 4:
                self._model_info(parts[2:], parse_qs(url.query))
            elif self.origin == "hub" and len(parts) >= 5 and parts[2] == "resolve":
                self._resolve(f"{parts[0]}/{parts[1]}", unquote(parts[3]), unquote("/".join(parts[4:])), send_body)
            else:
                self._answer(404, {"X-Error-Code": "EntryNotFound"}, b"", "?", "?", send_body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # ---------------------------------------------------------------------------------- endpoints

    def _repo_and_commit(self, repo_id: str, revision: str, path: str, send_body: bool) -> tuple[Repo, str] | None:
        repo = self.emulator.repos.get(repo_id)
        if repo is None:
            self._answer(404, {"X-Error-Code": "RepoNotFound"}, b"", repo_id, path, send_body)
            return None
        authorised = self.headers.get("authorization", "") == f"Bearer {TOKEN}"
        if repo.gated and not authorised:
            headers = {"X-Error-Code": "GatedRepo", "X-Error-Message": f"Access to model {repo_id} is restricted."}
            self._answer(401, headers, b"", repo_id, path, send_body)
            return None
        if repo.private and not authorised:
            self._answer(401, {"X-Error-Code": "RepoNotFound"}, b"", repo_id, path, send_body)
            return None
        commit = repo.refs.get(revision, revision if revision in repo.commits else None)
        if commit is None:
            self._answer(404, {"X-Error-Code": "RevisionNotFound"}, b"", repo_id, path, send_body)
            return None
        return repo, commit

    def _model_info(self, parts: list[str], query: dict[str, list[str]]) -> None:
        repo_id = "/".join(parts[:2])
        revision = unquote(parts[3]) if len(parts) >= 4 and parts[2] == "revision" else "main"
        found = self._repo_and_commit(repo_id, revision, "", True)
        if found is None:
            return
        repo, commit = found
        with_blobs = query.get("blobs") == ["true"] or query.get("blobs") == ["True"]
        siblings = []
        for path, data in sorted(repo.commits[commit].items()):
            sibling: dict[str, Any] = {"rfilename": path}
            if with_blobs:
                sibling.update(size=len(data), blobId=git_blob_sha1(data))
                if path in repo.lfs:
                    sibling["lfs"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "pointerSize": 130}
            siblings.append(sibling)
        info = {"id": repo_id, "modelId": repo_id, "sha": commit, "private": repo.private, "gated": repo.gated}
        body = json.dumps({**info, "siblings": siblings}).encode()
        self._answer(200, {"Content-Type": "application/json"}, body, repo_id, "", True, api=True)

    def _resolve(self, repo_id: str, revision: str, path: str, send_body: bool) -> None:
        found = self._repo_and_commit(repo_id, revision, path, send_body)
        if found is None:
            return
        repo, commit = found
        data = repo.commits[commit].get(path)
        if data is None:
            headers = {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}
            self._answer(404, headers, b"", repo_id, path, send_body)
            return
        if path in repo.lfs:
            sha256 = hashlib.sha256(data).hexdigest()
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {len(data)}\n".encode()
            headers = {
                "Location": f"{self.emulator.cdn}/cdn/{sha256}",
                "X-Repo-Commit": commit,
                "X-Linked-Etag": f'"{sha256}"',
                "X-Linked-Size": str(len(data)),
                "ETag": f'"{git_blob_sha1(pointer)}"',
            }
            self._answer(302, headers, b"", repo_id, path, send_body)
            return
        headers = {"X-Repo-Commit": commit, "ETag": f'"{git_blob_sha1(data)}"'}
        self._content(data, headers, repo_id, path, send_body)

    def _cdn_file(self, sha256: str, send_body: bool) -> None:
        data = self.emulator._blobs.get(sha256)
        repo_id, path = self.emulator._blob_paths.get(sha256, ("?", "?"))
        if data is None:
            self._answer(404, {}, b"", repo_id, path, send_body)
            return
        self._content(data, {"ETag": f'"{sha256}"'}, repo_id, path, send_body)

    def _content(self, data: bytes, headers: dict[str, str], repo_id: str, path: str, send_body: bool) -> None:
        """A file's bytes, honouring ``Range`` and the faults and throttle set for it."""
        fault = None
        if send_body:
            gate = self.emulator.gates.get(path)
            if gate is not None:
                gate.wait(timeout=60)
            with self.emulator._lock:
                pending = self.emulator.faults.get(path)
                fault = pending.pop(0) if pending else None
        if fault == "corrupt":
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        status, requested = 200, self.headers.get("Range")
        if requested and requested.startswith("bytes="):
            start_text, _, end_text = requested[len("bytes=") :].partition("-")
            start, end = int(start_text or 0), int(end_text) if end_text else len(data) - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start : end + 1], 206
        if fault == "short":
            data = data[: len(data) // 2]
        self._answer(status, {**headers, "Accept-Ranges": "bytes"}, data, repo_id, path, send_body, requested)

    def _answer(
        self,
        status: int,
        headers: dict[str, str],
        body: bytes,
        repo_id: str,
        path: str,
        send_body: bool,
        requested_range: str | None = None,
        api: bool = False,
    ) -> None:
        entry = Logged(self.origin, self.command, repo_id, "" if api else path, status, 0, requested_range)
        with self.emulator._lock:
            self.emulator.log.append(entry)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            chunk, delay = self.emulator.throttle.get(path, (_CHUNK, 0.0))
            pause = self.emulator.pause_after.get(path)
            for offset in range(0, len(body), chunk):
                if pause is not None and offset >= pause[0]:
                    pause[1].wait(timeout=60)
                self.wfile.write(body[offset : offset + chunk])
                self.wfile.flush()
                entry.bytes_sent += len(body[offset : offset + chunk])
                if delay:
                    time.sleep(delay)
        entry.finished = time.monotonic()
