#!/usr/bin/python3
"""An independent reader of the Hugging Face hub cache, following huggingface_hub's documented layout
(huggingface/huggingface_hub docs/source/en/guides/manage-cache.md, "Understand caching"; and
src/huggingface_hub/file_download.py try_to_load_from_cache / _create_symlink):

  <cache>/models--<owner>--<repo>/refs/<revision>        the commit hash the revision points to
  <cache>/models--<owner>--<repo>/snapshots/<commit>/<f> a relative symlink to ../../blobs/<etag>
  <cache>/models--<owner>--<repo>/blobs/<etag>           the file; etag = sha256 (LFS) or git blob sha1

    hf_cache_check.py CACHE OWNER/REPO COMMIT SOURCE_DIR FILE...

checks each FILE against SOURCE_DIR/FILE byte for byte and prints "ok" or the problems (exit status 1).
"""
import hashlib
import os
import sys

LFS_SUFFIXES = (".safetensors", ".gguf", ".h5", ".bin")


def try_to_load_from_cache(cache, repo_id, filename, revision="main"):
    """huggingface_hub's lookup: refs/<revision> -> commit -> snapshots/<commit>/<filename>, or None."""
    repo = os.path.join(cache, "models--" + repo_id.replace("/", "--"))
    ref = os.path.join(repo, "refs", revision)
    if os.path.isfile(ref):
        with open(ref) as f:
            revision = f.read()
    path = os.path.join(repo, "snapshots", revision, filename)
    return path if os.path.isfile(path) else None


def main():
    cache, repo_id, commit, source = sys.argv[1:5]
    files = sys.argv[5:]
    problems = []
    repo = os.path.join(cache, "models--" + repo_id.replace("/", "--"))
    with open(os.path.join(repo, "refs", "main")) as f:
        ref = f.read()
    if ref.strip() != commit or ref != ref.strip():
        problems.append("refs/main holds %r, expected %r (no newline, as huggingface_hub writes it)" % (ref, commit))
    for name in files:
        link = os.path.join(repo, "snapshots", commit, name)
        if not os.path.islink(link):
            problems.append("%s is not a symlink" % link)
            continue
        target = os.readlink(link)
        depth = name.count("/")
        etag = os.path.basename(target)
        if target != "../" * (2 + depth) + "blobs/" + etag:
            problems.append("%s -> %s, expected a relative link to ../../blobs/<etag>" % (link, target))
        blob = os.path.join(repo, "blobs", etag)
        if not os.path.isfile(blob) or os.path.islink(blob):
            problems.append("blob %s missing" % blob)
            continue
        with open(blob, "rb") as f:
            data = f.read()
        if name.endswith(LFS_SUFFIXES):
            digest = hashlib.sha256(data).hexdigest()
        else:
            digest = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        if digest != etag:
            problems.append("blob %s: content digest %s differs from its name" % (blob, digest))
        with open(os.path.join(source, name), "rb") as f:
            if f.read() != data:
                problems.append("%s differs from the source file" % name)
        found = try_to_load_from_cache(cache, repo_id, name)
        if found is None or os.path.realpath(found) != os.path.realpath(blob):
            problems.append("try_to_load_from_cache(%s) gives %s" % (name, found))
    for base, _, names in os.walk(repo):
        for n in names:
            if n.endswith(".incomplete"):
                problems.append("partial file left: " + os.path.join(base, n))
    print("\n".join(problems) if problems else "ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
