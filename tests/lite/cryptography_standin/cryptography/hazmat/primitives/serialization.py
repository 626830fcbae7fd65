import enum


class Encoding(enum.Enum):
    PEM = "PEM"
    DER = "DER"
