"""Dual-Diffusion: the noise schedule, the forward process (2D noise -> triangulated 3D), the training
loss and the sampler. The schedule knows nothing of the network, the network nothing of the schedule."""
