"""The image, speech and transcribe nodes."""
