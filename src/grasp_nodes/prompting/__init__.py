"""What prompts are made of, shared by the node types that send them: ``{var}`` templates
over the record state (``templates``) and message parts with media — images and audio
encoded for the model's route (``parts``)."""

from grasp_nodes.prompting.parts import MediaOptions, PromptContent
from grasp_nodes.prompting.templates import Template

__all__ = ["MediaOptions", "PromptContent", "Template"]
