"""The quickstart task built with the Python builder instead of YAML (same output)."""

from __future__ import annotations

from pathlib import Path

from grasp_core import END, START, Graph, Task

HERE = Path(__file__).parent


def build_task() -> Task:
    writer = {"name": "writer", "parameters": {"temperature": 0.9, "max_tokens": 128}}
    graph = (
        Graph()
        .add_node(
            "ask",
            "llm",
            output_keys="question",
            prompt=[
                {"system": "You write one clear question a student might ask."},
                {"user": "Write a question about {topic} for a {level} learner."},
            ],
            model=writer,
        )
        .add_node(
            "answer",
            "llm",
            output_keys="answer",
            prompt=[{"system": "You are a patient teacher."}, {"user": "{question}"}],
            model={"name": "writer"},
        )
        .add_node(
            "critique",
            "llm",
            output_keys="critique",
            prompt=[{"user": "Critique this answer for accuracy and clarity: {answer}"}],
            model={"name": "judge", "parameters": {"temperature": 0.0}},
        )
        .add_node(
            "word_count",
            "lambda",
            output_keys="answer_words",
            inline=True,
            **{"lambda": "steps.count_words"},
        )
        .add_edge(START, "ask")
        .add_edge("ask", "answer")
        .add_edge("answer", "critique")
        .add_edge("answer", "word_count")
        .add_edge("critique", END)
        .add_edge("word_count", END)
    )
    output_map = {
        key: {"from": key}
        for key in ("id", "topic", "question", "answer", "critique", "answer_words")
    }
    output_map["source_file"] = {"value": "$data_config.source.file_path"}
    return graph.to_task(
        data_config={
            "source": {"type": "disk", "file_path": "data/topics.jsonl"},
            "sink": {"type": "jsonl", "file_path": "output/qa.jsonl"},
        },
        output_config={"output_map": output_map},
        task_dir=HERE,
        name="quickstart",
    )


if __name__ == "__main__":
    from grasp_core import RunOptions, run_task

    result = run_task(build_task(), RunOptions(mock=True, overwrite=True))
    print(f"{result.done} records written to {result.output_paths[0]}")
