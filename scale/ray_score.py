#!/usr/bin/env python3
"""Verify .czip files on a Ray cluster: `czip-conformance score`, scaled out.

Lists the .czip files under PATH (a local path or any fsspec URL the
installed filesystem packages support: s3://, gs://, …), reads them with Ray
Data (`read_binary_files`), and verifies each on the cluster's workers with
the reference engine's Python binding (`czip.verify_file`, one model load per
worker actor). Each file's text is found in the corpus directory by its name
(`alice_ch1.txt.czip` → `<corpus>/alice_ch1.txt`).

The per-file entries (the `verify_file` dict plus the file's path) are
written as N parts (`<report>/parts/part-I-of-N/entries.jsonl`; file k of
the sorted list in part k mod N + 1), and `czip-conformance merge-reports`
turns the parts into report.json, report.md and junit.xml — the report
writer is the Rust one, and the report equals `czip-conformance score`'s
over the same files apart from timings.

Exit status: 0 when every file agrees with the reference (merged verdict
PASS), 1 otherwise, 2 for usage errors.

  python scale/ray_score.py /data/cuda-out --impl-name cuda --report reports/cuda-files
  python scale/ray_score.py s3://bucket/out --corpus s3://bucket/corpus --address auto \\
      --impl-name cuda --report reports/cuda-files

See scale/README.md for running it on a real cluster.
"""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help=".czip files or directories searched recursively (local paths or fsspec URLs)")
    p.add_argument("--impl-name", required=True, metavar="NAME", help="name of the implementation that produced the files (for the report)")
    p.add_argument("--report", required=True, metavar="DIR", help="where to write report.json, report.md, junit.xml (and parts/)")
    p.add_argument("--corpus", metavar="DIR|URL", help="the corpus texts, as seen by the workers (default: $CZIP_CORPUS_DIR or ../shared/golden/corpus)")
    p.add_argument("--models-dir", metavar="DIR", help="the published models on every worker (default: each worker's $CZIP_MODELS_DIR, as czip.Model.published)")
    p.add_argument("--model", default="v001", choices=["v000", "v001"], help="model for files whose model_id_hash names none (score --model)")
    p.add_argument("--address", metavar="ADDR", help="an existing Ray cluster (ray.init(address=...), e.g. auto or ray://head:10001); default: a local cluster")
    p.add_argument("--num-cpus", type=int, metavar="N", help="CPUs of the local cluster (default: this machine's)")
    p.add_argument("--parts", type=int, metavar="N", help="how many parts to write (default: the cluster's CPUs)")
    p.add_argument("--czip-conformance", metavar="BIN", help="the czip-conformance binary that merges the parts (default: on PATH, else target/release or target/checked of this checkout)")
    return p.parse_args(argv)


def list_czip_files(paths):
    """Every .czip file under the paths (fsspec), sorted; each with its filesystem."""
    import fsspec

    found = []
    for url in paths:
        fs, root = fsspec.core.url_to_fs(url)
        if fs.isdir(root):
            names = [f for f in fs.find(root) if f.endswith(".czip")]
        elif fs.exists(root):
            names = [root]
        else:
            raise SystemExit(f"ray_score: cannot read {url}: no such file or directory")
        found += [(fs, n) for n in names]
    if not found:
        raise SystemExit(f"ray_score: no .czip files in {', '.join(paths)}")
    # Sorted like score (path components), each once.
    uniq = {n: fs for fs, n in found}
    return [(uniq[n], n) for n in sorted(uniq, key=lambda n: pathlib.PurePosixPath(n).parts)]


class Verify:
    """A Ray Data callable class: one per worker actor, models loaded once."""

    def __init__(self, models_dir, default_model, corpus):
        import czip
        import fsspec

        self.czip = czip
        self.models_dir = models_dir
        self.default_model = default_model
        self.corpus = corpus
        self.corpus_fs, self.corpus_root = fsspec.core.url_to_fs(corpus)
        self.local_corpus = self.corpus_fs.protocol in ("file", "local") or "file" in tuple(self.corpus_fs.protocol)
        self.models = {}

    def model(self, name):
        if name not in self.models:
            if self.models_dir:
                self.models[name] = self.czip.Model.load(os.path.join(self.models_dir, f"{name}_eng.czm"))
            else:
                self.models[name] = self.czip.Model.published(name)
        return self.models[name]

    def pick_model(self, data):
        """The model a file's model_id_hash names (by content hash), else the default."""
        try:
            h = self.czip.CompressedFile.from_bytes(data).inner_header.model_id_hash
        except self.czip.CzipError:
            return self.model(self.default_model)  # verify_file reports the container error
        for name in ("v000", "v001"):
            if self.model(name).content_hash == h:
                return self.model(name)
        return self.model(self.default_model)

    def entry(self, data, path):
        file_name = path.rsplit("/", 1)[-1]
        text_name = file_name[: -len(".czip")] if file_name.endswith(".czip") else file_name
        text_path = self.corpus_root.rstrip("/") + "/" + text_name
        if not self.corpus_fs.exists(text_path):
            # What score reports for a file without its text (score.rs: skipped).
            case = {"id": f"file:{text_name}", "op": "file", "spec": "§8–§9", "status": "skipped", "message": f"no corpus text {text_name} in {self.corpus}"}
            return {"path": path, "case": case}
        text = pathlib.Path(text_path) if self.local_corpus else self.corpus_fs.cat_file(text_path)
        v = self.czip.verify_file(bytes(data), self.pick_model(data), text, name=text_name)
        v["path"] = path
        return v

    def __call__(self, batch):
        import numpy as np

        self.calls = getattr(self, "calls", 0) + 1
        crash = os.environ.get("CZIP_RAY_SCORE_TEST_CRASH")
        if crash and self.calls == 2:
            # Test hook (scale/ci-test.sh): the first actor to reach its second
            # file dies, once; Ray restarts it and retries the file.
            try:
                os.close(os.open(crash, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                os._exit(1)
            except FileExistsError:
                pass

        entries = [json.dumps(self.entry(d, p), ensure_ascii=False) for d, p in zip(batch["bytes"], batch["path"])]
        return {"entry": np.array(entries, dtype=object)}


def find_merger(arg):
    if arg:
        return arg
    on_path = shutil.which("czip-conformance")
    if on_path:
        return on_path
    root = pathlib.Path(__file__).resolve().parent.parent
    for profile in ("release", "checked"):
        b = root / "target" / profile / "czip-conformance"
        if b.exists():
            return str(b)
    raise SystemExit("ray_score: czip-conformance not found (cargo build --release, or --czip-conformance BIN)")


def progress(total):
    try:
        from tqdm import tqdm

        return tqdm(total=total, unit="file", desc="verified", file=sys.stderr)
    except ImportError:
        class Line:
            n = 0

            def update(self, k):
                self.n += k
                print(f"\rverified {self.n}/{total}", end="", file=sys.stderr, flush=True)

            def close(self):
                print(file=sys.stderr)

        return Line()


def main(argv=None):
    a = parse_args(argv)
    merger = find_merger(a.czip_conformance)
    corpus = a.corpus or os.environ.get("CZIP_CORPUS_DIR") or "../shared/golden/corpus"
    if "://" not in corpus:
        corpus = os.path.abspath(corpus)
    models_dir = os.path.abspath(a.models_dir) if a.models_dir else None
    files = list_czip_files(a.paths)

    import ray
    import pyarrow.fs

    started = time.time()
    if a.address:
        ray.init(address=a.address, log_to_driver=False)
    else:
        ray.init(num_cpus=a.num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # one bar: files verified
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    fs = files[0][0]
    local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))
    names = [n for _, n in files]
    filesystem = None if local else pyarrow.fs.PyFileSystem(pyarrow.fs.FSSpecHandler(fs))
    # Reading is I/O: its tasks take no CPU slot, so every CPU verifies.
    ds = ray.data.read_binary_files(names, include_paths=True, filesystem=filesystem, override_num_blocks=len(names), ray_remote_args={"num_cpus": 0})
    ds = ds.map_batches(
        Verify,
        fn_constructor_kwargs={"models_dir": models_dir, "default_model": a.model, "corpus": corpus},
        batch_size=1,
        concurrency=cpus,
        num_cpus=1,
        # A worker that dies: its actor is restarted and its task retried.
        max_restarts=-1,
        max_task_retries=-1,
    )
    bar = progress(len(names))
    entries = []
    for batch in ds.iter_batches(batch_size=1, batch_format="numpy"):
        for e in batch["entry"]:
            entries.append(json.loads(e))
        bar.update(len(batch["entry"]))
    bar.close()
    ray.shutdown()
    verified = time.time() - started
    print(f"{len(entries)} files verified in {verified:.1f} s ({len(entries) / verified:.2f} files/s on {cpus} CPUs)", file=sys.stderr)

    # The parts: file k of the sorted list in part k mod N + 1.
    entries.sort(key=lambda e: pathlib.PurePosixPath(e["path"]).parts)
    n = max(1, min(a.parts or cpus, len(entries)))
    report = pathlib.Path(a.report)
    parts = report / "parts"
    shutil.rmtree(parts, ignore_errors=True)
    dirs = []
    for i in range(n):
        d = parts / f"part-{i + 1}-of-{n}"
        d.mkdir(parents=True)
        with open(d / "entries.jsonl", "w", encoding="utf-8") as f:
            for e in entries[i::n]:
                f.write(json.dumps(e, ensure_ascii=False) + "\n")
        dirs.append(str(d))
    cmd = [merger, "merge-reports", *dirs, "--report", str(report), "--impl-name", a.impl_name, "--corpus", corpus if "://" not in corpus else "/nonexistent"]
    if models_dir:
        cmd += ["--models-dir", models_dir]
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
