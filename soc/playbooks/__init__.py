"""Response playbooks (playbooks/*.yaml): which alerts they take and the steps they run."""

from soc.playbooks.model import Playbook, PlaybookError, load_playbooks
from soc.playbooks.runner import PlaybookRunner

__all__ = ["Playbook", "PlaybookError", "PlaybookRunner", "load_playbooks"]
