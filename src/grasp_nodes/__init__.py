"""Built-in node types and model clients."""

from grasp_nodes.lambda_node import LambdaNode, LambdaNodeConfig
from grasp_nodes.llm import LLMNode, LLMNodeConfig, ModelRef

__all__ = ["LLMNode", "LLMNodeConfig", "LambdaNode", "LambdaNodeConfig", "ModelRef"]
