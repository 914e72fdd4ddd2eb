"""Other tools' 2D keypoint files: layouts (COCO-17, HALPE-26, COCO-WholeBody, OpenPose BODY_25,
MediaPipe-33) and the per-frame OpenPose-style JSON folders that OpenPose and Pose2Sim write."""
