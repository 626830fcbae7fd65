"""The errors ``cryptography`` raises, for the operations this package does."""


class InvalidSignature(Exception):
    """A signature does not match the data and the public key."""


class UnsupportedAlgorithm(Exception):
    """A padding, hash or encoding this pure-Python subset does not implement."""
