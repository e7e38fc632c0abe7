"""ingest's part of the operator commands: how a lead came in."""
