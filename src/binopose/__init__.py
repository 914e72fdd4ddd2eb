"""binopose: binocular (stereo) 3D human pose estimation with Dual-Diffusion refinement."""

from binopose.errors import BinoposeError

__version__ = "0.1.0"
__all__ = ["BinoposeError", "__version__"]
