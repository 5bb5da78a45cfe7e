"""Built-in node types (llm, multi_llm, lambda, weighted_sampler, subgraph, agent, quality),
with the prompting, model clients, structured output and recipes they use."""

from grasp_nodes.agent import AgentNode, AgentNodeConfig
from grasp_nodes.lambda_node import LambdaNode, LambdaNodeConfig
from grasp_nodes.llm import LLMNode, LLMNodeConfig, ModelRef
from grasp_nodes.multi_llm import MultiLLMNode, MultiLLMNodeConfig
from grasp_nodes.subgraph import SubgraphNode, SubgraphNodeConfig
from grasp_nodes.weighted_sampler import WeightedSamplerNode, WeightedSamplerNodeConfig

__all__ = [
    "AgentNode",
    "AgentNodeConfig",
    "LLMNode",
    "LLMNodeConfig",
    "LambdaNode",
    "LambdaNodeConfig",
    "ModelRef",
    "MultiLLMNode",
    "MultiLLMNodeConfig",
    "SubgraphNode",
    "SubgraphNodeConfig",
    "WeightedSamplerNode",
    "WeightedSamplerNodeConfig",
]
