"""--region is one flag everywhere: defined by cli.options.add_region and read by cli.options.parse_region, so every
command takes a preset name, a region file or inline JSON alike."""

import argparse
import importlib

import numpy as np
import pytest

from neuralinv.cli import build_parser
from neuralinv.cli.options import REGION_FORMS, REGION_METAVAR, parse_region
from neuralinv.common.errors import InputError
from neuralinv.paper.presets import get_dataset


def region_actions(parser, path=()):
    """(command path, action) for every --region option below parser."""
    for action in parser._actions:
        if "--region" in action.option_strings:
            yield path, action
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from region_actions(sub, path + (name,))


def test_every_region_flag_is_the_shared_one():
    found = list(region_actions(build_parser()))
    commands = {path[0] for path, _ in found}
    assert {"region", "train", "evaluate", "analyze", "limits", "bench", "invert"} <= commands
    for path, action in found:
        assert action.metavar == REGION_METAVAR and action.help.endswith(REGION_FORMS), path
    for command in commands:  # and each command reads it with the shared parser
        source = importlib.util.find_spec(f"neuralinv.cli.{command}").loader.get_source(f"neuralinv.cli.{command}")
        assert "parse_region(" in source, command


def test_three_forms_give_one_region(tmp_path):
    box = get_dataset("2x2-first").region
    box.save(tmp_path / "r.json")
    inline = '{"center": %s, "radius": %r}' % (box.center.tolist(), box.radius)
    for spec in ("2x2-first", str(tmp_path / "r.json"), inline):
        region = parse_region(spec)
        assert np.array_equal(region.center, box.center) and region.radius == box.radius
    with pytest.raises(InputError, match=r"^--region: not valid JSON"):
        parse_region("{center: 1}")
