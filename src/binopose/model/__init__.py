"""The denoiser network (graph convolution + attention over the 17 joints)."""

from binopose.model.denoiser import Denoiser, DenoiserConfig

__all__ = ["Denoiser", "DenoiserConfig"]
