"""Data: the stereo benchmark format and protocols, 3D pose corpora, virtual rigs, 2D error models."""
