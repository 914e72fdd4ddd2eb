"""Two cameras to 3D poses: media (videos, image folders), the 2D detector adapter, detection of both
views, and the pipeline (undistort, triangulate, refine, smooth, export). An edge package: OpenCV and
MediaPipe are imported here, never by the core."""
