"""Small helpers, under melange's module path ``melange.helpers``."""
