from .attach import attach  # hftshm.attach("md"): read a running instance from Python

__all__ = ["attach"]
