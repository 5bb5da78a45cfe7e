"""Record transforms applied to a source's stream (entry point group ``grasp.transforms``).

Each is registered under a snake-case name and, where SyGra has the same transform, under
SyGra's class name too (``RenameFieldsTransform``, ``AddNewFieldTransform``,
``CombineRecords``, ``SkipRecords``).
"""

from grasp_io.transforms.add_field import AddNewField, AddNewFieldParams
from grasp_io.transforms.combine import CombineRecords, CombineRecordsParams, Delimited
from grasp_io.transforms.fields import SelectFields, SelectFieldsParams
from grasp_io.transforms.filter import FilterParams, FilterRecords
from grasp_io.transforms.rename import RenameFields, RenameFieldsParams
from grasp_io.transforms.sample import SampleParams, SampleRecords
from grasp_io.transforms.shuffle import ShuffleParams, ShuffleRecords
from grasp_io.transforms.skip import SkipCount, SkipRecords, SkipRecordsParams

__all__ = [
    "AddNewField",
    "AddNewFieldParams",
    "CombineRecords",
    "CombineRecordsParams",
    "Delimited",
    "FilterParams",
    "FilterRecords",
    "RenameFields",
    "RenameFieldsParams",
    "SampleParams",
    "SampleRecords",
    "SelectFields",
    "SelectFieldsParams",
    "ShuffleParams",
    "ShuffleRecords",
    "SkipCount",
    "SkipRecords",
    "SkipRecordsParams",
]
