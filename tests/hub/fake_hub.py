#!/usr/bin/python3
"""A fake model hub on 127.0.0.1 for the download tests: the Hugging Face hub, Kaggle's API v1 and ModelScope's
file API, serving the files of a folder tree. Nothing here talks to a real host.

    fake_hub.py --root DIR --port-file FILE --log FILE [--gated owner/repo=TOKEN] [--cut-once KEY]
                [--corrupt KEY] [--slow KEY] [--kaggle-auth USER:KEY]

DIR/hf/<owner>/<repo>/...                                   Hugging Face repositories
DIR/kaggle/<owner>/<model>/<framework>/<variation>/<N>/...  Kaggle model instance versions
DIR/modelscope/<owner>/<repo>/...                           ModelScope repositories
KEY is "<owner>/<repo>/<file>" (Hugging Face and ModelScope) or "<owner>/<model>/<framework>/<variation>/<N>/<file>".
Each request is appended to the log as "METHOD PATH RANGE" (RANGE "-" when absent).

What each endpoint mimics, and where that behaviour is described:

Hugging Face (huggingface/huggingface_hub: src/huggingface_hub/hf_api.py `model_info`/`repo_info`,
src/huggingface_hub/file_download.py `hf_hub_url`, `get_hf_file_metadata`, `_normalize_etag`,
src/huggingface_hub/constants.py `HUGGINGFACE_HEADER_X_*`, src/huggingface_hub/utils/_http.py `hf_raise_for_status`):
  GET  /api/models/<owner>/<repo>/revision/<rev>  -> {"id", "sha": <40-hex commit>, "siblings": [{"rfilename"}]}.
       An unknown revision: 404 with X-Error-Code: RevisionNotFound; an unknown repository: 404 with
       X-Error-Code: RepoNotFound (the real hub answers 401 to anonymous requests for those, 404 to logged-in ones).
  HEAD /<owner>/<repo>/resolve/<rev>/<file>  -> X-Repo-Commit. Small files: 200 with ETag "<git blob sha1>" and
       Content-Length. LFS files (.safetensors, .gguf, .h5, .bin): 302 to the CDN (Location), with
       X-Linked-Etag "<sha256>" and X-Linked-Size. A missing file: 404 with X-Error-Code: EntryNotFound.
  GET  the same URL -> the small file itself, or the 302 to the CDN.
  GET  /cdn/<owner>/<repo>/<file> -> the bytes, with Accept-Ranges: bytes; "Range: bytes=N-" answers 206 with
       Content-Range (as the hub's CloudFront CDN does).
  Gated repositories (--gated): no Authorization header -> 401 with X-Error-Code: GatedRepo; a token that is not
       the repository's -> 403 with X-Error-Code: GatedRepo and X-Error-Message (the real hub's two cases: anonymous,
       and logged in without having accepted the license).
Kaggle (Kaggle/kagglehub: src/kagglehub/http_resolver.py `ModelHttpResolver`, `_build_get_instance_url_path`,
`_build_list_model_instance_version_files_url_path`, `_build_model_download_url_path`; src/kagglehub/clients.py
`KaggleApiV1Client.download_file` for X-Goog-Hash and Accept-Ranges; src/kagglehub/config.py for Basic auth):
  GET /api/v1/models/<o>/<m>/<f>/<v>/get -> {"versionNumber": highest version}
  GET /api/v1/models/<o>/<m>/<f>/<v>/<N>/files?page_size=S[&page_token=T] -> {"files": [{"name", "size"}],
      "nextPageToken"}. Pages hold at most 2 entries here (the real API honours page_size) so that the client's
      paging is exercised.
  GET /api/v1/models/<o>/<m>/<f>/<v>/<N>/download/<file> -> 302 to /kaggle-storage/..., which serves the bytes with
      X-Goog-Hash: md5=<base64> (Google Cloud Storage) and range support.
  With --kaggle-auth, every API call needs that Basic auth, else 401.
ModelScope (modelscope/modelscope: modelscope/hub/api.py `get_model_files`, modelscope/hub/file_download.py
`get_file_download_url`):
  GET /api/v1/models/<o>/<r>/repo/files?Revision=<rev>&Recursive=True -> {"Code": 200, "Data": {"Files":
      [{"Name", "Path", "Type": "blob"|"tree", "Size", "Sha256", "Revision"}]}, "Message", "Success"}
  GET /api/v1/models/<o>/<r>/repo?Revision=<rev>&FilePath=<file> -> the bytes (range support)
  A missing model: 404 with {"Code": 10010205001, "Message": ...}.
Fault injection: --cut-once KEY drops the connection half way through the first download of that file;
--corrupt KEY serves it with one byte changed (the advertised sha256 / md5 stays the true one); --slow KEY sends it
in 20 pieces 0.1 s apart.
"""
import argparse
import base64
import hashlib
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_SUFFIXES = (".safetensors", ".gguf", ".h5", ".bin")
ARGS = None
LOG_LOCK = threading.Lock()
CUT_DONE = set()
CUT_LOCK = threading.Lock()


def files_of(folder):
    out = []
    for base, _, names in os.walk(folder):
        for name in names:
            out.append(os.path.relpath(os.path.join(base, name), folder))
    return sorted(out)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def commit_of(folder):
    digest = hashlib.sha1()
    for name in files_of(folder):
        digest.update(name.encode() + b"\0" + hashlib.sha256(read(os.path.join(folder, name))).digest())
    return digest.hexdigest()


def inside(root, *parts):
    path = os.path.realpath(os.path.join(root, *parts))
    return path if path.startswith(os.path.realpath(root) + os.sep) else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *_):
        pass

    def log_request_line(self):
        with LOG_LOCK, open(ARGS.log, "a") as log:
            log.write("%s %s %s\n" % (self.command, self.path, self.headers.get("Range", "-")))

    def reply(self, status, body=b"", headers=None, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, status, value, headers=None):
        self.reply(status, json.dumps(value).encode(), headers)

    def serve_bytes(self, key, data, headers):
        """A file body with range support and the fault injections."""
        start = 0
        status = 200
        headers = dict(headers)
        headers["Accept-Ranges"] = "bytes"
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                self.reply(416, b"", {"Content-Range": "bytes */%d" % len(data)})
                return
            status = 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
        body = data[start:]
        if key in ARGS.corrupt and body:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        with CUT_LOCK:
            cut = key in ARGS.cut_once and key not in CUT_DONE
            if cut:
                CUT_DONE.add(key)
        if cut:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if key in ARGS.slow:
            step = max(1, len(body) // 20)
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(0.1)
            return
        self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.log_request_line()
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        try:
            if path.startswith("/api/v1/models/") and "/repo" in path:
                return self.modelscope(path, query)
            if path.startswith("/api/v1/models/"):
                return self.kaggle_api(path[len("/api/v1/models/"):], query)
            if path.startswith("/kaggle-storage/"):
                return self.kaggle_storage(path[len("/kaggle-storage/"):])
            if path.startswith("/api/models/"):
                return self.hf_model_info(path[len("/api/models/"):])
            if path.startswith("/cdn/"):
                return self.hf_cdn(path[len("/cdn/"):])
            if "/resolve/" in path:
                return self.hf_resolve(path[1:])
            self.reply_json(404, {"error": "no such endpoint"})
        except (BrokenPipeError, ConnectionResetError):
            pass

    # Hugging Face ------------------------------------------------------------------------------------------
    def hf_gate(self, repo):
        """None when the request may see `repo`, else after answering 401/403 as the hub does."""
        token = ARGS.gated.get(repo)
        if token is None:
            return False
        auth = self.headers.get("Authorization", "")
        if auth == "Bearer " + token:
            return False
        if not auth:
            self.reply_json(401, {"error": "Access to model %s is restricted." % repo},
                            {"X-Error-Code": "GatedRepo",
                             "X-Error-Message": "Access to model %s is restricted. You must have access to it and be "
                                                "authenticated to access it. Please log in." % repo})
        else:
            self.reply_json(403, {"error": "not in the authorized list"},
                            {"X-Error-Code": "GatedRepo",
                             "X-Error-Message": "Access to model %s is restricted and you are not in the authorized "
                                                "list. Visit https://huggingface.co/%s to ask for access." % (repo, repo)})
        return True

    def hf_repo(self, owner, name):
        folder = inside(ARGS.root, "hf", owner, name)
        if folder is None or not os.path.isdir(folder):
            self.reply_json(404, {"error": "Repository not found"},
                            {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository Not Found"})
            return None
        return folder

    def hf_model_info(self, rest):
        parts = rest.split("/")
        if len(parts) != 4 or parts[2] != "revision":
            return self.reply_json(404, {"error": "bad path"})
        owner, name, _, revision = parts
        repo = owner + "/" + name
        if self.hf_gate(repo):
            return
        folder = self.hf_repo(owner, name)
        if folder is None:
            return
        commit = commit_of(folder)
        if revision not in ("main", commit):
            return self.reply_json(404, {"error": "Invalid rev id: " + revision},
                                   {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id: " + revision})
        self.reply_json(200, {"id": repo, "sha": commit, "siblings": [{"rfilename": f} for f in files_of(folder)]})

    def hf_resolve(self, rest):
        head, _, tail = rest.partition("/resolve/")
        owner, _, name = head.partition("/")
        revision, _, filename = tail.partition("/")
        repo = owner + "/" + name
        if self.hf_gate(repo):
            return
        folder = self.hf_repo(owner, name)
        if folder is None:
            return
        commit = commit_of(folder)
        if revision not in ("main", commit):
            return self.reply_json(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
        path = inside(folder, filename)
        if path is None or not os.path.isfile(path):
            return self.reply_json(404, {"error": "Entry not found"},
                                   {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found",
                                    "X-Repo-Commit": commit})
        data = read(path)
        if filename.endswith(LFS_SUFFIXES):
            headers = {"X-Repo-Commit": commit, "X-Linked-Etag": '"%s"' % hashlib.sha256(data).hexdigest(),
                       "X-Linked-Size": str(len(data)), "ETag": '"%s"' % git_blob_sha1(b"lfs pointer " + data[:16]),
                       "Location": "/cdn/%s/%s?expires=3600" % (repo, urllib.parse.quote(filename))}
            return self.reply(302, b"", headers)
        self.serve_bytes(repo + "/" + filename, data, {"X-Repo-Commit": commit, "ETag": '"%s"' % git_blob_sha1(data)})

    def hf_cdn(self, rest):
        owner, name, filename = rest.split("/", 2)
        folder = inside(ARGS.root, "hf", owner, name)
        path = inside(folder, filename) if folder else None
        if path is None or not os.path.isfile(path):
            return self.reply(404, b"NoSuchKey", content_type="text/plain")
        data = read(path)
        self.serve_bytes(owner + "/" + name + "/" + filename, data, {"ETag": '"%s"' % hashlib.sha256(data).hexdigest()})

    # Kaggle ------------------------------------------------------------------------------------------------
    def kaggle_auth_ok(self):
        if not ARGS.kaggle_auth:
            return True
        expected = "Basic " + base64.b64encode(ARGS.kaggle_auth.encode()).decode()
        if self.headers.get("Authorization") == expected:
            return True
        self.reply_json(401, {"code": 401, "message": "Unauthenticated"})
        return False

    def kaggle_api(self, rest, query):
        if not self.kaggle_auth_ok():
            return
        parts = rest.split("/")
        if len(parts) == 5 and parts[4] == "get":
            folder = inside(ARGS.root, "kaggle", *parts[:4])
            versions = sorted(int(v) for v in os.listdir(folder) if v.isdigit()) if folder and os.path.isdir(folder) else []
            if not versions:
                return self.reply_json(404, {"code": 404, "message": "Not found"})
            return self.reply_json(200, {"versionNumber": versions[-1], "slug": parts[3]})
        if len(parts) == 6 and parts[5] == "files":
            folder = inside(ARGS.root, "kaggle", *parts[:5])
            if folder is None or not os.path.isdir(folder):
                return self.reply_json(404, {"code": 404, "message": "Not found"})
            names = files_of(folder)
            page = min(int(query.get("page_size", "25")), 2)
            start = int(query.get("page_token", "0") or 0)
            chunk = names[start:start + page]
            token = str(start + page) if start + page < len(names) else ""
            return self.reply_json(200, {"files": [{"name": n, "size": os.path.getsize(os.path.join(folder, n))}
                                                   for n in chunk], "nextPageToken": token})
        if len(parts) >= 7 and parts[5] == "download":
            folder = inside(ARGS.root, "kaggle", *parts[:5])
            path = inside(folder, "/".join(parts[6:])) if folder else None
            if path is None or not os.path.isfile(path):
                return self.reply_json(404, {"code": 404, "message": "Not found"})
            return self.reply(302, b"", {"Location": "/kaggle-storage/" + urllib.parse.quote("/".join(parts[:5] + parts[6:]))})
        self.reply_json(404, {"code": 404, "message": "Not found"})

    def kaggle_storage(self, rest):
        path = inside(ARGS.root, "kaggle", rest)
        if path is None or not os.path.isfile(path):
            return self.reply(404, b"NoSuchKey", content_type="text/plain")
        data = read(path)
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        self.serve_bytes(rest, data, {"X-Goog-Hash": "crc32c=AAAAAA==,md5=" + md5})

    # ModelScope --------------------------------------------------------------------------------------------
    def modelscope(self, path, query):
        rest = path[len("/api/v1/models/"):]
        head, _, tail = rest.partition("/repo")
        owner, _, name = head.partition("/")
        folder = inside(ARGS.root, "modelscope", owner, name)
        if folder is None or not os.path.isdir(folder):
            return self.reply_json(404, {"Code": 10010205001, "Message": "model %s/%s not found" % (owner, name),
                                         "Success": False})
        revision = query.get("Revision", "master")
        if tail == "/files":
            entries, dirs = [], set()
            for f in files_of(folder):
                data = read(os.path.join(folder, f))
                entries.append({"Name": os.path.basename(f), "Path": f, "Type": "blob", "Size": len(data),
                                "Sha256": hashlib.sha256(data).hexdigest(), "Revision": revision})
                if "/" in f:
                    dirs.add(f.rsplit("/", 1)[0])
            entries += [{"Name": d.rsplit("/", 1)[-1], "Path": d, "Type": "tree", "Size": 0, "Revision": revision}
                        for d in sorted(dirs)]
            return self.reply_json(200, {"Code": 200, "Data": {"Files": entries}, "Message": "success", "Success": True})
        if tail == "":
            file_path = query.get("FilePath", "")
            target = inside(folder, file_path)
            if target is None or not os.path.isfile(target):
                return self.reply_json(404, {"Code": 10010205001, "Message": "file not found", "Success": False})
            return self.serve_bytes(owner + "/" + name + "/" + file_path, read(target), {})
        self.reply_json(404, {"Code": 404, "Message": "no such endpoint"})


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--gated", action="append", default=[])
    parser.add_argument("--cut-once", action="append", default=[])
    parser.add_argument("--corrupt", action="append", default=[])
    parser.add_argument("--slow", action="append", default=[])
    parser.add_argument("--kaggle-auth", default="")
    parser.add_argument("--lifetime", type=float, default=600, help="exit after this many seconds at the latest")
    ARGS = parser.parse_args()
    ARGS.gated = dict(item.split("=", 1) for item in ARGS.gated)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Timer(ARGS.lifetime, lambda: os._exit(0)).start()
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
