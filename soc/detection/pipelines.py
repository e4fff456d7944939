"""Field-name mappings for other log sources: pySigma processing pipelines, chosen by name.

SigmaHQ rules use generic field names (``Image``, ``CommandLine``) and generic log sources
(``category: process_creation``). pySigma's pipelines map them onto what a source really logs:
``sysmon`` adds ``EventID: 1`` / the Sysmon channel, ``windows-audit`` maps to Security 4688 and
its ``NewProcessName``, ``ecs_windows`` to Winlogbeat's ECS names. Any installed pipeline plugin
or a pipeline YAML file (pySigma's format) can be named; they apply in order, before compiling.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sigma.plugins import InstalledSigmaPlugins
from sigma.processing.pipeline import ProcessingPipeline


def installed() -> list[str]:
    return sorted(InstalledSigmaPlugins.autodiscover().pipelines)


def load_pipeline(names: Sequence[str]) -> ProcessingPipeline | None:
    """One pipeline of the named plugins / YAML files, or ValueError naming what is unknown."""
    if not names:
        return None
    plugins = InstalledSigmaPlugins.autodiscover().pipelines
    out: ProcessingPipeline | None = None
    for name in names:
        if name in plugins:
            pipeline = plugins[name]()
        elif Path(name).is_file():
            pipeline = ProcessingPipeline.from_yaml(Path(name).read_text(encoding="utf-8"))
        else:
            raise ValueError(f"unknown processing pipeline {name!r}: not a pipeline file, and "
                             f"not one of the installed ones ({', '.join(sorted(plugins))})")
        out = pipeline if out is None else out + pipeline
    return out
