"""FAKE compress_zip.file_format: `CompressedFile` that only keeps the bytes."""

from ._record import record


class CompressedFile:
    def __init__(self, data):
        self.data = bytes(data)

    @classmethod
    def from_bytes(cls, data):
        record("CompressedFile.from_bytes", data=data)
        return cls(data)

    @classmethod
    def read(cls, path):
        record("CompressedFile.read", path=str(path))
        with open(path, "rb") as f:
            return cls(f.read())
