"""The post-process stage over a finished output: the step protocol (``protocol``), steps
built from a task or a steps file (``build``), SyGra's whole-list processors as steps
(``sygra``), where it reads and writes (``output``), the staging folder that makes its files
appear together (``staging``) and the streaming runner (``runner``). Steps are plugins
(entry point group ``grasp.postprocess``); the built-in ones live in ``grasp_io``."""

from grasp_core.postprocess.build import BuiltStep, load_steps_file, task_steps
from grasp_core.postprocess.output import CurationTarget, read_output
from grasp_core.postprocess.protocol import Removed, Step, StepEnv, StepOutput, StepType
from grasp_core.postprocess.runner import CurationResult, StepCounts, curate

__all__ = [
    "BuiltStep",
    "CurationResult",
    "CurationTarget",
    "Removed",
    "Step",
    "StepCounts",
    "StepEnv",
    "StepOutput",
    "StepType",
    "curate",
    "load_steps_file",
    "read_output",
    "task_steps",
]
