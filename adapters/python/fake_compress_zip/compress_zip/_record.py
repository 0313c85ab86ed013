"""FAKE compress_zip: call recorder. Appends `{"fn": NAME, "args": {...}}` to
the file named by `FAKE_COMPRESS_ZIP_LOG` (if set), one JSON line per call."""

import json
import os


def plain(v):
    """A JSON-able picture of an argument (arrays become nested lists)."""
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, (bytes, bytearray)):
        return {"bytes_hex": bytes(v).hex()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return {"float": v}
    return {"object": type(v).__name__}


def record(fn, **args):
    path = os.environ.get("FAKE_COMPRESS_ZIP_LOG")
    if not path:
        return
    line = json.dumps({"fn": fn, "args": {k: plain(v) for k, v in args.items()}})
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
