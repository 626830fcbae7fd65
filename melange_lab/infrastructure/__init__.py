"""Supporting pieces with melange's module paths (``melange.infrastructure.cache``)."""
