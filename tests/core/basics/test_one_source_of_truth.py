"""Status values share one type, and every on/off environment switch reads the same words."""

from __future__ import annotations

import json

import pytest

from modelrt.env_flags import env_flag
from modelrt.plan import Candidate, CandidateStatus
from modelrt.plugin_manager import PluginInfo, PluginManager, PluginStatus
from modelrt.sources import resolve_offline
from modelrt.specs import Status, StatusValue

ON_WORDS = ["1", "true", "TRUE", " yes ", "On"]
OFF_WORDS = ["", "0", "false", "no", "off", "enabled"]


@pytest.mark.parametrize("status", [Status.STABLE, CandidateStatus.CHOSEN, PluginStatus.BROKEN])
def test_a_status_prints_and_serialises_as_its_word(status: StatusValue) -> None:
    assert isinstance(status, StatusValue)
    assert (str(status), f"{status}", f"{status:>8}".strip()) == (status.value,) * 3
    assert json.dumps({"status": status}) == json.dumps({"status": status.value})


def test_records_turn_status_words_into_members() -> None:
    candidate = Candidate("main", "model.onnx", "onnx", "fake", "cpu", 10, status="failed")
    assert candidate.status is CandidateStatus.FAILED
    assert PluginInfo("p", None, None, "disabled").status is PluginStatus.DISABLED


def test_an_unknown_status_word_is_refused() -> None:
    with pytest.raises(ValueError, match="'fine' is not a valid PluginStatus"):
        PluginInfo("p", None, None, "fine")


@pytest.mark.parametrize("word", ON_WORDS)
def test_every_switch_is_on_for_the_same_words(word: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELRT_OFFLINE", word)
    monkeypatch.setenv("MODELRT_STRICT_PLUGINS", word)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert env_flag("MODELRT_OFFLINE")
    assert resolve_offline(None) is True
    assert PluginManager(entry_points=False).strict is True


@pytest.mark.parametrize("word", OFF_WORDS)
def test_every_switch_is_off_for_any_other_word(word: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELRT_OFFLINE", word)
    monkeypatch.setenv("MODELRT_STRICT_PLUGINS", word)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert not env_flag("MODELRT_OFFLINE")
    assert resolve_offline(None) is False
    assert PluginManager(entry_points=False).strict is False


def test_a_switch_can_be_read_from_another_environment() -> None:
    assert env_flag("MODELRT_OFFLINE", {"MODELRT_OFFLINE": "yes"})
    assert not env_flag("MODELRT_OFFLINE", {})
