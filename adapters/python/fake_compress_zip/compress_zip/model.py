"""FAKE compress_zip.model: a "model" with 8 logits that echo the step's
input, `[token, pos, 0, 0, 0, 0, 0, 0]`, and a flat table. No transformer."""

from ._record import record

VOCAB = 8


class ModelWeights:
    def __init__(self, path):
        self.path = str(path)

    @classmethod
    def load(cls, path):
        record("ModelWeights.load", path=str(path))
        # A chatty package: this print must not reach the protocol stream.
        print(f"FAKE compress_zip: loading {path}")
        return cls(path)


class Model:
    def __init__(self, weights):
        record("Model", path=weights.path)
        self.weights = weights

    def reset(self):
        record("Model.reset")

    def forward(self, token, pos):
        record("Model.forward", token=token, pos=pos)
        return [int(token), int(pos)] + [0] * (VOCAB - 2)

    def get_cumfreqs(self, logits):
        record("Model.get_cumfreqs", logits=logits)
        return list(range(1, VOCAB + 1)), VOCAB
