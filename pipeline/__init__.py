"""The commercial pipeline: brief to finished MP4, one module per stage."""
