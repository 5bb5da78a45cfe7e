"""Built-in node types (llm, multi_llm, lambda, weighted_sampler, subgraph, agent, quality),
with the prompting, model clients, structured output and recipes they use."""

from grasp_core.plugin import lazy_exports

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

# Names are imported on first use: the entry points load one node type by its module
# (``grasp_nodes.llm:LLMNode``), which runs this file first; importing every node type here
# would make each run pay for all of them (the agent, the batch client, their HTTP
# libraries) before its first record.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "grasp_nodes.agent": ["AgentNode", "AgentNodeConfig"],
        "grasp_nodes.lambda_node": ["LambdaNode", "LambdaNodeConfig"],
        "grasp_nodes.llm": ["LLMNode", "LLMNodeConfig", "ModelRef"],
        "grasp_nodes.multi_llm": ["MultiLLMNode", "MultiLLMNodeConfig"],
        "grasp_nodes.subgraph": ["SubgraphNode", "SubgraphNodeConfig"],
        "grasp_nodes.weighted_sampler": ["WeightedSamplerNode", "WeightedSamplerNodeConfig"],
    },
    __all__,
)
