def default_backend() -> None:
    return None
